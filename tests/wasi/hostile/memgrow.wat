;; memory.grow one page at a time until it fails; then a grow by 65536 pages
;; must fail too. Exit status (proc_exit): 0 when the memory ended at exactly
;; 1024 pages (--memory 64), 1 when it ended elsewhere, 2 when the huge grow
;; did not return -1 or changed the size.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (block $done
      (loop $grow
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $grow)))
    (if (i32.ne (memory.grow (i32.const 65536)) (i32.const -1)) (then (call $exit (i32.const 2))))
    (call $exit (select (i32.const 0) (i32.const 1) (i32.eq (memory.size) (i32.const 1024))))))
