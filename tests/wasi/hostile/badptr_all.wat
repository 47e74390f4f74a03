;; Every WASI call that takes a pointer, called with one pointer far outside
;; linear memory (0xfffffff0; memory is one page), the others valid. Each must
;; fail with EFAULT (21). The module exits 0 when all did, else 100 + the
;; number of the first call that did not (numbered in the list below), with
;; the errno it got written to stderr as one byte (the test prints both).
;; Needs a writable preopen at fd 3 holding hello.txt (tests/wasi/hostile.sh).
;;    0  args_get
;;    1  args_sizes_get
;;    2  environ_get
;;    3  environ_sizes_get
;;    4  clock_res_get
;;    5  clock_time_get
;;    6  fd_fdstat_get
;;    7  fd_filestat_get
;;    8  fd_pread
;;    9  fd_pread
;;   10  fd_prestat_get
;;   11  fd_prestat_dir_name
;;   12  fd_pwrite
;;   13  fd_read
;;   14  fd_read
;;   15  fd_readdir
;;   16  fd_readdir
;;   17  fd_seek
;;   18  fd_tell
;;   19  fd_write
;;   20  fd_write
;;   21  path_create_directory
;;   22  path_filestat_get
;;   23  path_filestat_get
;;   24  path_filestat_set_times
;;   25  path_link
;;   26  path_link
;;   27  path_open
;;   28  path_open
;;   29  path_readlink
;;   30  path_readlink
;;   31  path_remove_directory
;;   32  path_rename
;;   33  path_rename
;;   34  path_symlink
;;   35  path_symlink
;;   36  path_unlink_file
;;   37  poll_oneoff
;;   38  poll_oneoff
;;   39  random_get
(module
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $clock_res_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $fd_pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_tell" (func $fd_tell (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $path_create_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get" (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_set_times" (func $path_filestat_set_times (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_link" (func $path_link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink" (func $path_readlink (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_remove_directory" (func $path_remove_directory (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_rename" (func $path_rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $path_symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 2048) "hello.txt")
  (data (i32.const 2064) "new1")
  (data (i32.const 2080) "none")
  ;; stops with 100 + k when errno is not EFAULT; the errno goes to stderr as a byte
  (func $expect (param $k i32) (param $errno i32)
    (if (i32.ne (local.get $errno) (i32.const 21)) (then
      (i32.store8 (i32.const 300) (local.get $errno))
      (i32.store (i32.const 304) (i32.const 300))
      (i32.store (i32.const 308) (i32.const 1))
      (drop (call $fd_write (i32.const 2) (i32.const 304) (i32.const 1) (i32.const 312)))
      (call $exit (i32.add (i32.const 100) (local.get $k))))))
  (func (export "_start")
    (local $f i32)
    ;; a regular file to hand the fd calls: hello.txt, opened with every right the
    ;; preopen passes on (its fdstat's fs_rights_inheriting, at offset 16)
    (if (call $fd_fdstat_get (i32.const 3) (i32.const 512)) (then (call $exit (i32.const 98))))
    (if (call $path_open (i32.const 3) (i32.const 1) (i32.const 2048) (i32.const 9) (i32.const 0)
          (i64.load (i32.const 528)) (i64.load (i32.const 528)) (i32.const 0) (i32.const 0))
      (then (call $exit (i32.const 99))))
    (local.set $f (i32.load (i32.const 0)))
    ;; a valid iovec at 96: 4 bytes at 1024
    (i32.store (i32.const 96) (i32.const 1024))
    (i32.store (i32.const 100) (i32.const 4))
    (call $expect (i32.const 0) (call $args_get (i32.const 0xfffffff0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 1) (call $args_sizes_get (i32.const 0xfffffff0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 2) (call $environ_get (i32.const 0xfffffff0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 3) (call $environ_sizes_get (i32.const 0xfffffff0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 4) (call $clock_res_get (i32.const 1) (i32.const 0xfffffff0)))
    (call $expect (i32.const 5) (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0xfffffff0)))
    (call $expect (i32.const 6) (call $fd_fdstat_get (local.get $f) (i32.const 0xfffffff0)))
    (call $expect (i32.const 7) (call $fd_filestat_get (local.get $f) (i32.const 0xfffffff0)))
    (call $expect (i32.const 8) (call $fd_pread (local.get $f) (i32.const 0xfffffff0) (i32.const 1) (i64.const 0) (i32.const 200)))
    (call $expect (i32.const 9) (call $fd_pread (local.get $f) (i32.const 96) (i32.const 1) (i64.const 0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 10) (call $fd_prestat_get (i32.const 3) (i32.const 0xfffffff0)))
    (call $expect (i32.const 11) (call $fd_prestat_dir_name (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 12) (call $fd_pwrite (local.get $f) (i32.const 0xfffffff0) (i32.const 1) (i64.const 0) (i32.const 200)))
    (call $expect (i32.const 13) (call $fd_read (local.get $f) (i32.const 0xfffffff0) (i32.const 1) (i32.const 200)))
    (call $expect (i32.const 14) (call $fd_read (local.get $f) (i32.const 96) (i32.const 1) (i32.const 0xfffffff0)))
    (call $expect (i32.const 15) (call $fd_readdir (i32.const 3) (i32.const 0xfffffff0) (i32.const 16) (i64.const 0) (i32.const 200)))
    (call $expect (i32.const 16) (call $fd_readdir (i32.const 3) (i32.const 1024) (i32.const 16) (i64.const 0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 17) (call $fd_seek (local.get $f) (i64.const 0) (i32.const 0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 18) (call $fd_tell (local.get $f) (i32.const 0xfffffff0)))
    (call $expect (i32.const 19) (call $fd_write (local.get $f) (i32.const 0xfffffff0) (i32.const 1) (i32.const 200)))
    (call $expect (i32.const 20) (call $fd_write (local.get $f) (i32.const 96) (i32.const 1) (i32.const 0xfffffff0)))
    (call $expect (i32.const 21) (call $path_create_directory (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 22) (call $path_filestat_get (i32.const 3) (i32.const 1) (i32.const 0xfffffff0) (i32.const 16) (i32.const 200)))
    (call $expect (i32.const 23) (call $path_filestat_get (i32.const 3) (i32.const 1) (i32.const 2048) (i32.const 9) (i32.const 0xfffffff0)))
    (call $expect (i32.const 24) (call $path_filestat_set_times (i32.const 3) (i32.const 1) (i32.const 0xfffffff0) (i32.const 16) (i64.const 0) (i64.const 0) (i32.const 0)))
    (call $expect (i32.const 25) (call $path_link (i32.const 3) (i32.const 0) (i32.const 0xfffffff0) (i32.const 16) (i32.const 3) (i32.const 2064) (i32.const 4)))
    (call $expect (i32.const 26) (call $path_link (i32.const 3) (i32.const 0) (i32.const 2048) (i32.const 9) (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 27) (call $path_open (i32.const 3) (i32.const 1) (i32.const 0xfffffff0) (i32.const 16) (i32.const 0) (i64.load (i32.const 528)) (i64.load (i32.const 528)) (i32.const 0) (i32.const 200)))
    (call $expect (i32.const 28) (call $path_open (i32.const 3) (i32.const 1) (i32.const 2048) (i32.const 9) (i32.const 0) (i64.load (i32.const 528)) (i64.load (i32.const 528)) (i32.const 0) (i32.const 0xfffffff0)))
    (call $expect (i32.const 29) (call $path_readlink (i32.const 3) (i32.const 0xfffffff0) (i32.const 16) (i32.const 1024) (i32.const 16) (i32.const 200)))
    (call $expect (i32.const 30) (call $path_readlink (i32.const 3) (i32.const 2080) (i32.const 4) (i32.const 0xfffffff0) (i32.const 16) (i32.const 200)))
    (call $expect (i32.const 31) (call $path_remove_directory (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 32) (call $path_rename (i32.const 3) (i32.const 0xfffffff0) (i32.const 16) (i32.const 3) (i32.const 2064) (i32.const 4)))
    (call $expect (i32.const 33) (call $path_rename (i32.const 3) (i32.const 2048) (i32.const 9) (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 34) (call $path_symlink (i32.const 0xfffffff0) (i32.const 16) (i32.const 3) (i32.const 2064) (i32.const 4)))
    (call $expect (i32.const 35) (call $path_symlink (i32.const 2048) (i32.const 9) (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 36) (call $path_unlink_file (i32.const 3) (i32.const 0xfffffff0) (i32.const 16)))
    (call $expect (i32.const 37) (call $poll_oneoff (i32.const 0xfffffff0) (i32.const 1024) (i32.const 1) (i32.const 200)))
    (call $expect (i32.const 38) (call $poll_oneoff (i32.const 1024) (i32.const 0xfffffff0) (i32.const 1) (i32.const 200)))
    (call $expect (i32.const 39) (call $random_get (i32.const 0xfffffff0) (i32.const 16)))
    (call $exit (i32.const 0))))
