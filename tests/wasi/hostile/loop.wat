;; An endless loop with no calls and no memory accesses: only an asynchronous
;; interrupt (--timeout) can stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br $l))))
