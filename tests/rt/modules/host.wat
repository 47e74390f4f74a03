;; Test module for tests/rt: a host function, an imported memory and global.
(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (import "env" "mem" (memory 1 10))
  (import "env" "g" (global $g i32))
  (func (export "callf") (param i32) (result i32)
    (i32.add (call $f (local.get 0)) (i32.const 1)))
  (func (export "read") (param i32) (result i32)
    (i32.load (local.get 0)))
  (func (export "get_g") (result i32) (global.get $g))
)
