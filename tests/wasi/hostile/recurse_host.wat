;; Unbounded recursion that calls a WASI function at every level: the stack
;; runs out around the host call. Before the host kept a reserve of stack
;; (src/rt/thread.c need_stack), the fault came inside clock_time_get, which
;; is the host's, and killed the process; now it is "call stack exhausted".
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func $f (param i32) (result i32)
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 16)))
    (i32.add (call $f (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start") (drop (call $f (i32.const 0)))))
