import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { DRIFT_STATISTICS } from "./drift.js";
import type { MonitoringReport } from "./report.js";

/**
 * The report as one self-contained HTML page: ECharts (from node_modules, inlined — the
 * page works offline and from a CI artifact) and the report JSON embedded.
 */

let echartsSource: string | null = null;
function echarts(): string {
  if (echartsSource === null) {
    const path = createRequire(import.meta.url).resolve("echarts/dist/echarts.common.min.js");
    echartsSource = readFileSync(path, "utf8").replaceAll("</script", "<\\/script");
  }
  return echartsSource;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number | null | undefined, digits = 3): string => (v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits));

export function renderReportHtml(report: MonitoringReport): string {
  const rows = DRIFT_STATISTICS.map((s) => {
    const v = report.current.values[s];
    const over = Number.isFinite(v) && v > report.thresholds[s];
    return `<tr class="${over ? "bad" : ""}"><td>${s}</td><td>${fmt(v)}</td><td>${fmt(report.thresholds[s])}</td><td>${Number.isFinite(v) ? (over ? "DRIFT" : "ok") : "not enough data"}</td></tr>`;
  }).join("");
  const liveRow = `<tr class="${report.live.drop ? "bad" : ""}"><td>live accuracy</td><td>${fmt(report.live.accuracy)}</td><td>${report.live.referenceAccuracy === null ? "—" : `≥ ${fmt(report.live.referenceAccuracy - 0.1)}`}</td><td>${report.live.accuracy === null ? "no feedback" : report.live.drop ? "DROP" : "ok"} (${report.live.labelled} labels)</td></tr>`;
  const data = JSON.stringify(report, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v)).replace(/</g, "\\u003c");
  const status = report.status === "drift" ? "Drift detected" : report.status === "ok" ? "No drift" : "Not enough data";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Polarity monitoring report</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{padding:1rem 2rem;background:#fff;border-bottom:1px solid #e1e4e8}
h1{margin:0 0 .3rem;font-size:1.4rem}h2{font-size:1.05rem;margin:0 0 .5rem}
.status{display:inline-block;padding:.15rem .6rem;border-radius:1rem;font-weight:600;color:#fff;background:${report.status === "drift" ? "#c62828" : report.status === "ok" ? "#2e7d32" : "#6b7280"}}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1rem;padding:1rem 2rem}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:.8rem 1rem}
.chart{height:280px}table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{padding:.25rem .5rem;border-bottom:1px solid #eee;text-align:left}tr.bad td{color:#c62828;font-weight:600}
.meta{color:#5b6472;font-size:.85rem}
</style></head><body>
<header><h1>Polarity monitoring report <span class="status" id="status">${status}</span></h1>
<div class="meta">Generated ${escapeHtml(report.generatedAt)} · ${report.counts.predictions} logged predictions (${escapeHtml(report.period.from ?? "—")} → ${escapeHtml(report.period.to ?? "—")}) · ${report.counts.feedback} labels · models ${escapeHtml(report.models.join(", ") || "—")} · reference: ${report.reference.rows} texts</div></header>
<main>
<section><h2>Drift against the reference profile</h2><table id="summary"><tr><th>statistic</th><th>value</th><th>threshold</th><th>status</th></tr>${rows}${liveRow}</table>
<p class="meta">OOV rate: reference ${fmt(report.reference.oovRate)}, current ${fmt(report.current.oovRate)} (${report.counts.textsProfiled} logged texts tokenised; OOV and term drift need text logging).</p></section>
<section><h2>Predicted score: reference vs current</h2><div class="chart" id="score"></div></section>
<section><h2>Text length: reference vs current</h2><div class="chart" id="length"></div></section>
<section><h2>Predicted class mix</h2><div class="chart" id="classes"></div></section>
<section><h2>Drift over time (value / threshold; 1 = alarm)</h2><div class="chart" id="drift"></div></section>
<section><h2>Live accuracy (feedback)</h2><div class="chart" id="live"></div></section>
<section><h2>Most-shifted terms</h2><div class="chart" id="terms"></div></section>
</main>
<script>${echarts()}</script>
<script>
(function(){
var R=${data};
var pct=function(a){return a.map(function(v){return v===null?null:+(100*v).toFixed(2);});};
function bins(edges,fmt){var out=[];for(var i=0;i<=edges.length;i++){var lo=i===0?null:edges[i-1],hi=i===edges.length?null:edges[i];out.push(lo===null?'< '+fmt(hi):hi===null?'≥ '+fmt(lo):fmt(lo)+'–'+fmt(hi));}return out;}
function bars(id,cats,ref,cur){echarts.init(document.getElementById(id)).setOption({animation:false,tooltip:{trigger:'axis'},legend:{data:['reference','current'],top:0},grid:{left:45,right:10,bottom:55,top:30},xAxis:{type:'category',data:cats,axisLabel:{rotate:cats.length>6?30:0}},yAxis:{type:'value',name:'%'},series:[{name:'reference',type:'bar',data:pct(ref)},{name:'current',type:'bar',data:pct(cur)}]});}
bars('score',bins(R.reference.score.edges,function(v){return v.toFixed(1);}),R.reference.score.proportions,R.current.score);
bars('length',bins(R.reference.length.edges,function(v){return String(Math.round(v));}),R.reference.length.proportions,R.current.length);
bars('classes',R.reference.classes,R.reference.classMix,R.current.classMix);
var stats=${JSON.stringify(DRIFT_STATISTICS)};
var useServer=R.windows.length<2&&R.serverDrift.length>1;
var pts=useServer?R.serverDrift.map(function(d){return {t:d.ts,v:d.values};}):R.windows.map(function(w){return {t:w.to,v:w.values};});
echarts.init(document.getElementById('drift')).setOption({animation:false,title:{text:useServer?'server snapshots':'windows of logged predictions',textStyle:{fontSize:11,fontWeight:'normal'},right:0},tooltip:{trigger:'axis'},legend:{type:'scroll',top:18},grid:{left:45,right:10,bottom:40,top:50},xAxis:{type:'category',data:pts.map(function(p){return p.t.slice(5,19).replace('T',' ');})},yAxis:{type:'value'},
 series:stats.map(function(s){return {name:s,type:'line',showSymbol:pts.length<40,data:pts.map(function(p){var v=p.v[s];return v===null||v===undefined?null:+(v/R.thresholds[s]).toFixed(3);}),markLine:s===stats[0]?{silent:true,symbol:'none',data:[{yAxis:1}],lineStyle:{color:'#c62828',type:'dashed'}}:undefined};})});
var lw=R.live.windows;
echarts.init(document.getElementById('live')).setOption({animation:false,tooltip:{trigger:'axis'},legend:{data:['accuracy','reference']},grid:{left:45,right:10,bottom:40,top:30},xAxis:{type:'category',data:lw.map(function(w){return w.to.slice(5,19).replace('T',' ');})},yAxis:{type:'value',min:0,max:1},
 series:[{name:'accuracy',type:'line',data:lw.map(function(w){return +w.accuracy.toFixed(3);})},{name:'reference',type:'line',symbol:'none',lineStyle:{type:'dashed'},data:lw.map(function(){return R.live.referenceAccuracy;})}],
 graphic:lw.length===0?[{type:'text',left:'center',top:'middle',style:{text:R.live.labelled+' labels (fewer than one window)',fill:'#5b6472'}}]:[]});
var terms=R.terms.slice().reverse();
echarts.init(document.getElementById('terms')).setOption({animation:false,tooltip:{trigger:'axis',axisPointer:{type:'shadow'}},grid:{left:90,right:20,bottom:30,top:10},xAxis:{type:'value',name:'χ² contribution'},yAxis:{type:'category',data:terms.map(function(t){return t.term;})},
 series:[{type:'bar',data:terms.map(function(t){return {value:+t.shift.toFixed(2),itemStyle:{color:t.shift>0?'#c62828':'#1565c0'}};})}],
 graphic:terms.length===0?[{type:'text',left:'center',top:'middle',style:{text:'no term statistics (no logged text and no server drift snapshot)',fill:'#5b6472'}}]:[]});
document.body.setAttribute('data-rendered','true');
})();
</script></body></html>
`;
}
