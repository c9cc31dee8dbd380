import { createHash } from "node:crypto";
import type { LoadedModel } from "./model-types.js";
import { highlightSegments, sentimentOf, type PredictionView } from "./predictor.js";

/**
 * The web page: server-rendered, no external assets (inline CSS and JS), so it works
 * offline and behind strict CSPs. Without JavaScript the form posts to /predict and the
 * server answers with this page and the result filled in (the seed's behaviour: "Positive
 * Sentiment" / "Negative Sentiment"). With JavaScript the same form calls the JSON API and
 * renders the result in place.
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"));
}

/** "Positive Sentiment" for a positive-looking class (by name, else id), else "Predicted: <name>". */
export function headline(label: PredictionView["label"], className: string = String(label)): string {
  const s = sentimentOf(className) ?? sentimentOf(label);
  return s === "positive" ? "Positive Sentiment" : s === "negative" ? "Negative Sentiment" : `Predicted: ${className}`;
}

/**
 * The words of the text that pushed the decision most, summed per word (case-folded) and
 * ordered by |weight|: what the page's table lists (the model's features are stems such as
 * "batteri"; a reader wants the words they wrote).
 */
export function topWords(contributions: readonly { token: string; weight: number }[], k: number): Array<{ word: string; weight: number }> {
  const byWord = new Map<string, { word: string; weight: number }>();
  for (const c of contributions) {
    const key = c.token.toLowerCase();
    const entry = byWord.get(key);
    if (entry) entry.weight += c.weight;
    else byWord.set(key, { word: c.token, weight: c.weight });
  }
  return [...byWord.values()].sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight)).slice(0, k);
}

export interface PageInput {
  model: LoadedModel | null;
  text?: string;
  result?: PredictionView;
  error?: string;
  maxTextLength: number;
}

export function renderPage(input: PageInput): string {
  const { model, text = "", result, error } = input;
  const modelLine = model
    ? `Model <b>${escapeHtml(model.name)}</b> version <b>${escapeHtml(model.version)}</b>${model.alias ? ` (alias <b>${escapeHtml(model.alias)}</b>)` : ""}`
    : "No model loaded yet";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sentiment Analysis</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Sentiment Analysis</h1>
<p class="model" id="model">${modelLine}</p>
<form method="post" action="/predict" id="form">
<label for="text">Text</label>
<textarea id="text" name="text" rows="5" maxlength="${input.maxTextLength}" required placeholder="Type a review, e.g. I love this!">${escapeHtml(text)}</textarea>
<button type="submit" id="predict">Predict</button>
</form>
<section id="result" aria-live="polite">${error ? `<p class="error" id="error">${escapeHtml(error)}</p>` : result ? renderResult(text, result) : ""}</section>
<footer><a href="/docs">API docs</a> · <a href="/metrics">metrics</a> · <a href="/readyz">readiness</a></footer>
</main>
<script>${SCRIPT}</script>
</body>
</html>`;
}

/** Result block; the browser script builds the same markup from the JSON API's answer. */
export function renderResult(text: string, r: PredictionView): string {
  const sentiment = sentimentOf(r.class_name) ?? sentimentOf(r.label);
  const pct = (r.score * 100).toFixed(1);
  const cls = sentiment ?? "other";
  let highlighted = "";
  let table = "";
  if (r.contributions) {
    const flip = (sentimentOf(r.towards_class_name) ?? sentimentOf(r.towards)) === "negative" ? -1 : 1;
    const segments = highlightSegments(text.length, r.contributions);
    let maxAbs = 0;
    for (const s of segments) maxAbs = Math.max(maxAbs, Math.abs(s.weight));
    highlighted = segments
      .map((s) => {
        const piece = escapeHtml(text.slice(s.start, s.end));
        if (s.weight === 0 || maxAbs === 0) return piece;
        const w = s.weight * flip;
        const alpha = (0.15 + 0.6 * (Math.abs(w) / maxAbs)).toFixed(2);
        return `<mark class="${w > 0 ? "up" : "down"}" style="--a:${alpha}" title="${s.weight.toFixed(3)}">${piece}</mark>`;
      })
      .join("");
    table = topWords(r.contributions, PAGE_TOP_K)
      .map((c) => `<tr><td>${escapeHtml(c.word)}</td><td class="${c.weight * flip > 0 ? "up" : "down"}">${c.weight.toFixed(3)}</td></tr>`)
      .join("");
  }
  return `<h2 class="label ${cls}" id="label">${escapeHtml(headline(r.label, r.class_name))}</h2>
<div class="bar" id="bar" role="meter" aria-valuemin="0" aria-valuemax="1" aria-valuenow="${r.score.toFixed(4)}"><span style="width:${pct}%"></span></div>
<p class="prob">Probability <b id="probability">${pct}%</b> (class <code>${escapeHtml(r.class_name)}</code>, id <code>${escapeHtml(String(r.label))}</code>)</p>
${r.contributions ? `<p class="highlight" id="highlight">${highlighted}</p><table class="contrib"><thead><tr><th>word</th><th>weight</th></tr></thead><tbody>${table}</tbody></table>` : ""}`;
}

const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f6f7f9;color:#1d2430;margin:0}
main{max-width:760px;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:12px;box-shadow:0 2px 10px rgba(0,0,0,.08)}
h1{margin:.2rem 0 .3rem;font-size:1.8rem}.model{color:#5b6472;margin:0 0 1rem;font-size:.9rem}
label{display:block;font-weight:600;margin-bottom:.3rem}
textarea{width:100%;box-sizing:border-box;font:inherit;padding:.6rem;border:1px solid #c9ced6;border-radius:8px;resize:vertical}
button{margin-top:.7rem;font:inherit;font-weight:600;padding:.5rem 1.4rem;border:0;border-radius:8px;background:#2f6fed;color:#fff;cursor:pointer}
button:disabled{opacity:.6}
.label{margin:1.2rem 0 .5rem}.label.positive{color:#1a7f37}.label.negative{color:#cf222e}.label.other{color:#2f6fed}
.bar{height:14px;background:#e6e9ee;border-radius:7px;overflow:hidden}.bar span{display:block;height:100%;background:#2f6fed}
.positive~.bar span{background:#1a7f37}.negative~.bar span{background:#cf222e}
.prob{margin:.4rem 0 1rem;color:#39414d}
.highlight{line-height:1.9;padding:.7rem;border:1px solid #e1e4e8;border-radius:8px;white-space:pre-wrap;word-wrap:break-word}
mark{border-radius:4px;padding:1px 2px;color:inherit}mark.up{background:rgba(26,127,55,var(--a))}mark.down{background:rgba(207,34,46,var(--a))}
table.contrib{border-collapse:collapse;font-size:.85rem;margin-top:.5rem}.contrib td,.contrib th{padding:.15rem .8rem;border-bottom:1px solid #eef0f3;text-align:left}
td.up{color:#1a7f37}td.down{color:#cf222e}.error{color:#cf222e;font-weight:600}
footer{margin-top:1.5rem;font-size:.8rem;color:#5b6472}footer a{color:#2f6fed}
`;

/** How many strongest terms the page lists. */
export const PAGE_TOP_K = 10;

// Mirrors renderResult/highlightSegments for the JSON answer; DOM building uses textContent only.
const SCRIPT = `
(function(){
var PAGE_TOP_K=${PAGE_TOP_K};
var form=document.getElementById('form'),ta=document.getElementById('text'),out=document.getElementById('result'),btn=document.getElementById('predict');
var POS={'1':1,'pos':1,'positive':1,'+1':1,'true':1,'yes':1},NEG={'0':1,'-1':1,'neg':1,'negative':1,'false':1,'no':1};
function sent(l){if(l===undefined||l===null)return null;var s=String(l).trim().toLowerCase();return POS[s]?'positive':NEG[s]?'negative':null;}
function el(tag,attrs,text){var e=document.createElement(tag);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;return e;}
function segments(n,cs){var cuts={0:1};cuts[n]=1;cs.forEach(function(c){if(c.start>=0&&c.end<=n&&c.start<c.end){cuts[c.start]=1;cuts[c.end]=1;}});
var p=Object.keys(cuts).map(Number).sort(function(a,b){return a-b;}),s=[];for(var i=0;i+1<p.length;i++){var w=0;cs.forEach(function(c){if(c.start<=p[i]&&c.end>=p[i+1])w+=c.weight;});s.push({start:p[i],end:p[i+1],weight:w});}return s;}
function words(cs,k){var by={},list=[];cs.forEach(function(c){var key=c.token.toLowerCase();if(by[key])by[key].weight+=c.weight;else{by[key]={word:c.token,weight:c.weight};list.push(by[key]);}});
return list.sort(function(a,b){return Math.abs(b.weight)-Math.abs(a.weight);}).slice(0,k);}
function render(text,r){out.textContent='';var name=r.class_name!==undefined?r.class_name:String(r.label),st=sent(name)||sent(r.label);
out.appendChild(el('h2',{'class':'label '+(st||'other'),id:'label'},st==='positive'?'Positive Sentiment':st==='negative'?'Negative Sentiment':'Predicted: '+name));
var bar=el('div',{'class':'bar',id:'bar',role:'meter','aria-valuemin':'0','aria-valuemax':'1','aria-valuenow':r.score.toFixed(4)}),fill=el('span');fill.style.width=(r.score*100).toFixed(1)+'%';bar.appendChild(fill);out.appendChild(bar);
var p=el('p',{'class':'prob'});p.appendChild(document.createTextNode('Probability '));p.appendChild(el('b',{id:'probability'},(r.score*100).toFixed(1)+'%'));p.appendChild(document.createTextNode(' (class '));p.appendChild(el('code',{},name));p.appendChild(document.createTextNode(', id '));p.appendChild(el('code',{},String(r.label)));p.appendChild(document.createTextNode(')'));out.appendChild(p);
if(r.contributions){var flip=(sent(r.towards_class_name)||sent(r.towards))==='negative'?-1:1,segs=segments(text.length,r.contributions),max=0;segs.forEach(function(s){max=Math.max(max,Math.abs(s.weight));});
var h=el('p',{'class':'highlight',id:'highlight'});segs.forEach(function(s){var piece=text.slice(s.start,s.end);if(s.weight===0||max===0){h.appendChild(document.createTextNode(piece));return;}
var w=s.weight*flip,m=el('mark',{'class':w>0?'up':'down',title:s.weight.toFixed(3)},piece);m.style.setProperty('--a',(0.15+0.6*Math.abs(w)/max).toFixed(2));h.appendChild(m);});out.appendChild(h);
var t=el('table',{'class':'contrib'}),hd=el('thead'),tr=el('tr');tr.appendChild(el('th',{},'word'));tr.appendChild(el('th',{},'weight'));hd.appendChild(tr);t.appendChild(hd);var tb=el('tbody');
words(r.contributions,PAGE_TOP_K).forEach(function(c){var row=el('tr');row.appendChild(el('td',{},c.word));row.appendChild(el('td',{'class':c.weight*flip>0?'up':'down'},c.weight.toFixed(3)));tb.appendChild(row);});t.appendChild(tb);out.appendChild(t);}}
form.addEventListener('submit',function(ev){ev.preventDefault();var text=ta.value;btn.disabled=true;
fetch('/predict',{method:'POST',headers:{'content-type':'application/json',accept:'application/json'},body:JSON.stringify({text:text,explain:true,top_k:PAGE_TOP_K})})
.then(function(res){return res.json().then(function(b){if(!res.ok)throw new Error(b.message||('HTTP '+res.status));return b;});})
.then(function(b){render(text,b);if(b.model){var m=document.getElementById('model');m.textContent='Model '+b.model.name+' version '+b.model.version+(b.model.alias?' (alias '+b.model.alias+')':'');}})
.catch(function(e){out.textContent='';out.appendChild(el('p',{'class':'error',id:'error'},String(e.message||e)));})
.then(function(){btn.disabled=false;});});
})();
`;

/**
 * A Content-Security-Policy for a page of ours: only its own inline scripts (allowed by
 * SHA-256, so an injected script would not run), inline styles, requests to this origin, no
 * framing by other sites (clickjacking), no plugins, no <base> rewriting.
 */
export function contentSecurityPolicy(html: string): string {
  const hashes: string[] = [];
  for (const m of html.matchAll(/<script>([\s\S]*?)<\/script>/g)) hashes.push(`'sha256-${createHash("sha256").update(m[1]).digest("base64")}'`);
  return [
    "default-src 'none'",
    `script-src ${hashes.length > 0 ? hashes.join(" ") : "'none'"}`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** The page's policy (its one script never changes). */
export const PAGE_CSP: string = contentSecurityPolicy(`<script>${SCRIPT}</script>`);

/** Headers every HTML page of the server carries. */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": PAGE_CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
});
