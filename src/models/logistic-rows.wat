;; The binary logistic loss and its gradient over CSR rows [0, n): binaryLossGradientRows
;; (parallel/binary-logistic-kernel.ts) in WebAssembly, the same arithmetic in the same order
;; (exp and log1p are JavaScript's Math.exp and Math.log1p, imported), so the result is
;; bit-identical. Addresses are byte offsets into the imported memory: f64 arrays data, y, sw, x,
;; grad (which the caller zeroes); i32 arrays indptr, indices. Returns Σ s_i·loss_i; writes Σ r_i
;; (the intercept's gradient) as an f64 at $out.
(module
  (import "env" "memory" (memory 1))
  (import "env" "exp" (func $exp (param f64) (result f64)))
  (import "env" "log1p" (func $log1p (param f64) (result f64)))
  (func (export "rows")
    (param $n i32) (param $b f64) (param $invS f64) (param $indptr i32) (param $indices i32) (param $data i32)
    (param $y i32) (param $sw i32) (param $x i32) (param $grad i32) (param $out i32)
    (result f64)
    (local $i i32) (local $p i32) (local $start i32) (local $end i32) (local $ga i32)
    (local $z f64) (local $yi f64) (local $m f64) (local $e f64) (local $li f64) (local $sig f64) (local $si f64) (local $ri f64)
    (local $loss f64) (local $sumR f64)
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
      (local.set $start (i32.load (i32.add (local.get $indptr) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $indptr) (i32.shl (local.get $i) (i32.const 2)))))
      ;; z = b + Σ data[p]·x[indices[p]]
      (local.set $z (local.get $b))
      (local.set $p (local.get $start))
      (block $dotDone (loop $dot
        (br_if $dotDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $z (f64.add (local.get $z)
          (f64.mul
            (f64.load (i32.add (local.get $data) (i32.shl (local.get $p) (i32.const 3))))
            (f64.load (i32.add (local.get $x) (i32.shl (i32.load (i32.add (local.get $indices) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 3)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $dot)))
      (local.set $yi (f64.load (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $m (f64.mul (local.get $yi) (local.get $z)))
      (if (f64.gt (local.get $m) (f64.const 0))
        (then
          (local.set $e (call $exp (f64.neg (local.get $m))))
          (local.set $li (call $log1p (local.get $e)))
          (local.set $sig (f64.div (local.get $e) (f64.add (f64.const 1) (local.get $e)))))
        (else
          (local.set $e (call $exp (local.get $m)))
          (local.set $li (f64.add (f64.neg (local.get $m)) (call $log1p (local.get $e))))
          (local.set $sig (f64.div (f64.const 1) (f64.add (f64.const 1) (local.get $e))))))
      (local.set $si (f64.load (i32.add (local.get $sw) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $loss (f64.add (local.get $loss) (f64.mul (local.get $si) (local.get $li))))
      ;; r_i = −s_i·y_i·σ(−m)/S, evaluated left to right as the JavaScript does
      (local.set $ri (f64.mul (f64.mul (f64.mul (f64.neg (local.get $si)) (local.get $yi)) (local.get $sig)) (local.get $invS)))
      (local.set $sumR (f64.add (local.get $sumR) (local.get $ri)))
      (local.set $p (local.get $start))
      (block $scatterDone (loop $scatter
        (br_if $scatterDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $ga (i32.add (local.get $grad) (i32.shl (i32.load (i32.add (local.get $indices) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 3))))
        (f64.store (local.get $ga) (f64.add (f64.load (local.get $ga)) (f64.mul (local.get $ri) (f64.load (i32.add (local.get $data) (i32.shl (local.get $p) (i32.const 3)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $scatter)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $row)))
    (f64.store (local.get $out) (local.get $sumR))
    (local.get $loss)))
