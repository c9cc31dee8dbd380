(module
  (import "env" "memory" (memory 1 65536 shared))
  ;; g[j - c0] (f64 at $g) = Σ_q vals[q]·r[rowIdx[q]] for j in [c0, c1). colPtr/rowIdx i32, vals f32, r f64: byte offsets.
  (func (export "gather") (param $colPtr i32) (param $rowIdx i32) (param $vals i32) (param $r i32) (param $g i32) (param $c0 i32) (param $c1 i32)
    (local $j i32) (local $q i32) (local $end i32) (local $s f64)
    (local.set $j (local.get $c0))
    (local.set $q (i32.load (i32.add (local.get $colPtr) (i32.shl (local.get $j) (i32.const 2)))))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $c1)))
      (local.set $end (i32.load (i32.add (local.get $colPtr) (i32.shl (i32.add (local.get $j) (i32.const 1)) (i32.const 2)))))
      (local.set $s (f64.const 0))
      (block $dq (loop $lq
        (br_if $dq (i32.ge_u (local.get $q) (local.get $end)))
        (local.set $s (f64.add (local.get $s) (f64.mul
          (f64.promote_f32 (f32.load (i32.add (local.get $vals) (i32.shl (local.get $q) (i32.const 2)))))
          (f64.load (i32.add (local.get $r) (i32.shl (i32.load (i32.add (local.get $rowIdx) (i32.shl (local.get $q) (i32.const 2)))) (i32.const 3)))))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $lq)))
      (f64.store (i32.add (local.get $g) (i32.shl (i32.sub (local.get $j) (local.get $c0)) (i32.const 3))) (local.get $s))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj))))
  ;; z[rowIdx[q]] += vals[q]·x[j] for j in [c0, c1) (x f64 at $x indexed by j).
  (func (export "scatter") (param $colPtr i32) (param $rowIdx i32) (param $vals i32) (param $x i32) (param $z i32) (param $c0 i32) (param $c1 i32)
    (local $j i32) (local $q i32) (local $end i32) (local $w f64) (local $p i32)
    (local.set $j (local.get $c0))
    (block $dj (loop $lj
      (br_if $dj (i32.ge_u (local.get $j) (local.get $c1)))
      (local.set $w (f64.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))))
      (if (f64.ne (local.get $w) (f64.const 0)) (then
        (local.set $q (i32.load (i32.add (local.get $colPtr) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $end (i32.load (i32.add (local.get $colPtr) (i32.shl (i32.add (local.get $j) (i32.const 1)) (i32.const 2)))))
        (block $dq (loop $lq
          (br_if $dq (i32.ge_u (local.get $q) (local.get $end)))
          (local.set $p (i32.add (local.get $z) (i32.shl (i32.load (i32.add (local.get $rowIdx) (i32.shl (local.get $q) (i32.const 2)))) (i32.const 3))))
          (f64.store (local.get $p) (f64.add (f64.load (local.get $p)) (f64.mul (local.get $w)
            (f64.promote_f32 (f32.load (i32.add (local.get $vals) (i32.shl (local.get $q) (i32.const 2))))))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $lq)))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $lj))))
)
