;; One pass of the dual coordinate descent of solveSvcDual (linear-svc.ts) over the active
;; coordinates index[0, active), in that order: the same arithmetic, in the same order, as the
;; JavaScript loop it replaces (no fused multiply-add in WebAssembly), so the result is bit-identical.
;; Addresses are byte offsets into the imported memory: f64 arrays w, alpha, qd, diag, upper, y, data;
;; i32 arrays index, indptr, indices. Returns the new active size (shrinking moves a coordinate to the
;; end of the active range); writes the pass's max and min projected gradient and the bias b (f64)
;; at $out, $out + 8 and $out + 16.
(module
  (import "env" "memory" (memory 1))
  (func (export "pass")
    (param $active i32) (param $pgMaxOld f64) (param $pgMinOld f64) (param $b f64) (param $bias f64)
    (param $index i32) (param $indptr i32) (param $indices i32) (param $data i32) (param $w i32)
    (param $alpha i32) (param $qd i32) (param $diag i32) (param $upper i32) (param $y i32) (param $out i32)
    (result i32)
    (local $s i32) (local $i i32) (local $p i32) (local $end i32) (local $start i32) (local $wa i32)
    (local $yi f64) (local $wx f64) (local $g f64) (local $u f64) (local $pg f64) (local $ai f64) (local $a f64)
    (local $delta f64) (local $pgMax f64) (local $pgMin f64)
    (local.set $pgMax (f64.const -inf))
    (local.set $pgMin (f64.const inf))
    (block $done (loop $next
      (br_if $done (i32.ge_s (local.get $s) (local.get $active)))
      (local.set $i (i32.load (i32.add (local.get $index) (i32.shl (local.get $s) (i32.const 2)))))
      (local.set $yi (f64.load (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $start (i32.load (i32.add (local.get $indptr) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $end (i32.load offset=4 (i32.add (local.get $indptr) (i32.shl (local.get $i) (i32.const 2)))))
      ;; wx = b·bias + Σ w[indices[p]]·data[p]
      (local.set $wx (f64.mul (local.get $b) (local.get $bias)))
      (local.set $p (local.get $start))
      (block $dotDone (loop $dot
        (br_if $dotDone (i32.ge_s (local.get $p) (local.get $end)))
        (local.set $wx (f64.add (local.get $wx)
          (f64.mul
            (f64.load (i32.add (local.get $w) (i32.shl (i32.load (i32.add (local.get $indices) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 3))))
            (f64.load (i32.add (local.get $data) (i32.shl (local.get $p) (i32.const 3)))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $dot)))
      (local.set $ai (f64.load (i32.add (local.get $alpha) (i32.shl (local.get $i) (i32.const 3)))))
      ;; G = y_i·wx − 1 + α_i·D_ii
      (local.set $g (f64.add (f64.sub (f64.mul (local.get $yi) (local.get $wx)) (f64.const 1))
        (f64.mul (local.get $ai) (f64.load (i32.add (local.get $diag) (i32.shl (local.get $i) (i32.const 3)))))))
      (local.set $u (f64.load (i32.add (local.get $upper) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $pg (f64.const 0))
      (block $scored
        (if (f64.eq (local.get $ai) (f64.const 0))
          (then
            (if (f64.gt (local.get $g) (local.get $pgMaxOld))
              (then
                ;; Shrink: swap index[s] with the last active coordinate and look at slot s again.
                (local.set $active (i32.sub (local.get $active) (i32.const 1)))
                (local.set $wa (i32.add (local.get $index) (i32.shl (local.get $active) (i32.const 2))))
                (i32.store (i32.add (local.get $index) (i32.shl (local.get $s) (i32.const 2))) (i32.load (local.get $wa)))
                (i32.store (local.get $wa) (local.get $i))
                (br $next)))
            (if (f64.lt (local.get $g) (f64.const 0)) (then (local.set $pg (local.get $g))))
            (br $scored)))
        (if (f64.eq (local.get $ai) (local.get $u))
          (then
            (if (f64.lt (local.get $g) (local.get $pgMinOld))
              (then
                (local.set $active (i32.sub (local.get $active) (i32.const 1)))
                (local.set $wa (i32.add (local.get $index) (i32.shl (local.get $active) (i32.const 2))))
                (i32.store (i32.add (local.get $index) (i32.shl (local.get $s) (i32.const 2))) (i32.load (local.get $wa)))
                (i32.store (local.get $wa) (local.get $i))
                (br $next)))
            (if (f64.gt (local.get $g) (f64.const 0)) (then (local.set $pg (local.get $g))))
            (br $scored)))
        (local.set $pg (local.get $g)))
      (if (f64.gt (local.get $pg) (local.get $pgMax)) (then (local.set $pgMax (local.get $pg))))
      (if (f64.lt (local.get $pg) (local.get $pgMin)) (then (local.set $pgMin (local.get $pg))))
      (if (f64.gt (f64.abs (local.get $pg)) (f64.const 1e-12))
        (then
          ;; α_i ← min(max(α_i − G/Q_ii, 0), U_i); w += (Δα_i·y_i)·x_i
          (local.set $a (f64.min (f64.max (f64.sub (local.get $ai) (f64.div (local.get $g) (f64.load (i32.add (local.get $qd) (i32.shl (local.get $i) (i32.const 3)))))) (f64.const 0)) (local.get $u)))
          (f64.store (i32.add (local.get $alpha) (i32.shl (local.get $i) (i32.const 3))) (local.get $a))
          (local.set $delta (f64.mul (f64.sub (local.get $a) (local.get $ai)) (local.get $yi)))
          (local.set $p (local.get $start))
          (block $updDone (loop $upd
            (br_if $updDone (i32.ge_s (local.get $p) (local.get $end)))
            (local.set $wa (i32.add (local.get $w) (i32.shl (i32.load (i32.add (local.get $indices) (i32.shl (local.get $p) (i32.const 2)))) (i32.const 3))))
            (f64.store (local.get $wa) (f64.add (f64.load (local.get $wa)) (f64.mul (local.get $delta) (f64.load (i32.add (local.get $data) (i32.shl (local.get $p) (i32.const 3)))))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $upd)))
          (local.set $b (f64.add (local.get $b) (f64.mul (local.get $delta) (local.get $bias))))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (br $next)))
    (f64.store (local.get $out) (local.get $pgMax))
    (f64.store offset=8 (local.get $out) (local.get $pgMin))
    (f64.store offset=16 (local.get $out) (local.get $b))
    (local.get $active)))
