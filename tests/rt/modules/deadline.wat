;; Test module for tests/rt deadlines: loops that never end on their own,
;; with and without calls, and a start function that can spin.
(module
  (import "env" "tick" (func $tick (param i32) (result i32)))
  (import "env" "spin_at_start" (global $spin_at_start i32))
  (memory (export "mem") 1 100)
  (func (export "spin")
    (loop $l (br $l)))
  (func (export "spin_grow")
    (loop $l (drop (memory.grow (i32.const 0))) (br $l)))
  (func (export "spin_host") (param i32)
    (loop $l (drop (call $tick (local.get 0))) (br $l)))
  (func (export "call_host") (param i32) (result i32)
    (call $tick (local.get 0)))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  ;; Stores i at 4*i for i < n, returns the sum of what it stored.
  (func (export "fill") (param i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get 0)))
        (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $i))
        (local.set $s (i32.add (local.get $s) (i32.load (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $s))
  (func $start
    (if (global.get $spin_at_start) (then (loop $l (br $l)))))
  (start $start)
)
