;; WASI calls with pointers and lengths outside linear memory (one page,
;; 64 KiB). The first letter of argv[1] picks the case; the module exits with
;; the call's errno (proc_exit), so EFAULT = 21 is the expected status (a trap
;; is tolerated; a host crash or a write of bytes outside memory is not).
;;   a  fd_write, iovec array past the end
;;   b  fd_write, iovec buffer past the end
;;   c  fd_write, iovec length running past the end (bytes beyond must not be written)
;;   d  fd_write, nwritten pointer past the end
;;   e  fd_write, 0x20000000 iovecs (x 8 bytes wraps to 0 in 32 bits)
;;   f  path_open, path length past the end
;;   g  path_open, path pointer + length wrapping around 2^32
;;   h  args_get, argv pointer past the end
;;   i  args_sizes_get, result pointer straddling the end
;;   j  environ_get, buffer pointer past the end
;;   k  clock_time_get, result straddling the end
;;   l  random_get, buffer straddling the end
;;   m  poll_oneoff, subscriptions past the end
;;   n  fd_read (stdin), iovec buffer past the end
;;   o  fd_prestat_dir_name, buffer past the end
;;   p  fd_readdir, buffer straddling the end
;;   q  path_open, result fd pointer past the end
;;   r  fd_write, iovec buffer at 0xffffffff length 2 (wraps)
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 2048) "hello.txt")
  (func (export "_start")
    (local $c i32)
    ;; argv into 1024.. (pointers) and 1536.. (strings); sizes at 0 and 4.
    (if (call $args_sizes_get (i32.const 0) (i32.const 4)) (then (call $exit (i32.const 100))))
    (if (i32.lt_u (i32.load (i32.const 0)) (i32.const 2)) (then (call $exit (i32.const 101))))
    (if (call $args_get (i32.const 1024) (i32.const 1536)) (then (call $exit (i32.const 102))))
    (local.set $c (i32.sub (i32.load8_u (i32.load (i32.const 1028))) (i32.const 97)))
    ;; a valid iovec at 64: {buf 2048, len 9}
    (i32.store (i32.const 64) (i32.const 2048))
    (i32.store (i32.const 68) (i32.const 9))
    (block $r (block $q (block $p (block $o (block $n (block $m (block $l (block $k (block $j
    (block $i (block $h (block $g (block $f (block $e (block $d (block $b2 (block $b (block $a
      (br_table $a $b $b2 $d $e $f $g $h $i $j $k $l $m $n $o $p $q $r $r (local.get $c)))
      ;; a
      (call $exit (call $fd_write (i32.const 1) (i32.const 0xfffffff0) (i32.const 1) (i32.const 128))))
      ;; b
      (i32.store (i32.const 80) (i32.const 0xffff0000))
      (i32.store (i32.const 84) (i32.const 16))
      (call $exit (call $fd_write (i32.const 1) (i32.const 80) (i32.const 1) (i32.const 128))))
      ;; c: from 0xff00 for 0x7fffffff bytes
      (i32.store (i32.const 80) (i32.const 0xff00))
      (i32.store (i32.const 84) (i32.const 0x7fffffff))
      (call $exit (call $fd_write (i32.const 1) (i32.const 80) (i32.const 1) (i32.const 128))))
      ;; d
      (call $exit (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 0xfffffffc))))
      ;; e
      (call $exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x20000000) (i32.const 128))))
      ;; f
      (call $exit (call $path_open (i32.const 3) (i32.const 1) (i32.const 2048) (i32.const 0xffffff00)
                    (i32.const 0) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 128))))
      ;; g
      (call $exit (call $path_open (i32.const 3) (i32.const 1) (i32.const 0xffff) (i32.const 0xffff0002)
                    (i32.const 0) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 128))))
      ;; h
      (call $exit (call $args_get (i32.const 0xfffffff0) (i32.const 1536))))
      ;; i
      (call $exit (call $args_sizes_get (i32.const 0xfffe) (i32.const 0))))
      ;; j
      (call $exit (call $environ_get (i32.const 1024) (i32.const 0x7fffffff))))
      ;; k
      (call $exit (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 0xfffc))))
      ;; l
      (call $exit (call $random_get (i32.const 0xfff0) (i32.const 0x100))))
      ;; m
      (call $exit (call $poll_oneoff (i32.const 0xffffff00) (i32.const 4096) (i32.const 1000) (i32.const 128))))
      ;; n
      (i32.store (i32.const 80) (i32.const 0x10000))
      (i32.store (i32.const 84) (i32.const 64))
      (call $exit (call $fd_read (i32.const 0) (i32.const 80) (i32.const 1) (i32.const 128))))
      ;; o
      (call $exit (call $fd_prestat_dir_name (i32.const 3) (i32.const 0x20000) (i32.const 8))))
      ;; p
      (call $exit (call $fd_readdir (i32.const 3) (i32.const 0xff00) (i32.const 0x1000) (i64.const 0) (i32.const 128))))
      ;; q
      (call $exit (call $path_open (i32.const 3) (i32.const 1) (i32.const 2048) (i32.const 9)
                    (i32.const 0) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0xfffffffe))))
    ;; r
    (i32.store (i32.const 80) (i32.const 0xffffffff))
    (i32.store (i32.const 84) (i32.const 2))
    (call $exit (call $fd_write (i32.const 1) (i32.const 80) (i32.const 1) (i32.const 128)))))
