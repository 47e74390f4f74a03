;; SIMD accesses outside linear memory (one page, 64 KiB). The first letter of
;; argv[1] picks the case; each must trap (out of bounds) whether or not its
;; value is used, and exit 0 would mean the access went through.
;;   a  v128.load straddling the end (0xfff8), value stored back in bounds
;;   b  v128.load at 0xffffffff with offset 0xffffffff, value dropped
;;   c  v128.store straddling the end
;;   d  v128.load32_zero past the end, value dropped
;;   e  v128.load64_lane past the end
;;   f  v128.store8_lane at exactly the end
;;   g  v128.load8x8_s with offset 0xfffffff0, in a loop that uses the lanes
;;   h  v128.load64_splat at 0x10000 (the first byte past the end)
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $c i32) (local $v v128) (local $i i32)
    (if (call $args_sizes_get (i32.const 0) (i32.const 4)) (then (call $exit (i32.const 100))))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then (call $exit (i32.const 101))))
    (if (call $args_get (i32.const 1024) (i32.const 1536)) (then (call $exit (i32.const 102))))
    (local.set $c (i32.sub (i32.load8_u (i32.load (i32.const 1028))) (i32.const 97)))
    (block $h (block $g (block $f (block $e (block $d (block $c (block $b (block $a
      (br_table $a $b $c $d $e $f $g $h $h (local.get $c)))
      ;; a
      (v128.store (i32.const 64) (v128.load (i32.const 0xfff8)))
      (call $exit (i32.const 0)))
      ;; b
      (drop (v128.load offset=0xffffffff (i32.const 0xffffffff)))
      (call $exit (i32.const 0)))
      ;; c
      (v128.store (i32.const 0xfff1) (v128.const i32x4 1 2 3 4))
      (call $exit (i32.const 0)))
      ;; d
      (drop (v128.load32_zero (i32.const 0x10000)))
      (call $exit (i32.const 0)))
      ;; e
      (v128.store (i32.const 64) (v128.load64_lane 1 (i32.const 0xfffc) (v128.const i64x2 0 0)))
      (call $exit (i32.const 0)))
      ;; f
      (v128.store8_lane 15 (i32.const 0x10000) (v128.const i32x4 1 2 3 4))
      (call $exit (i32.const 0)))
      ;; g
      (loop $l
        (local.set $v (i16x8.add (local.get $v) (v128.load8x8_s offset=0xfffffff0 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 64))))
      (call $exit (i32x4.extract_lane 0 (local.get $v))))
    ;; h
    (drop (v128.load64_splat (i32.const 0x10000)))
    (call $exit (i32.const 0))))
