;; Test module for tests/rt: wasm exceptions, caught and uncaught.
(module
  (tag $e (param i32))
  (func (export "throw") (param i32) (result i32) (throw $e (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (try (result i32)
      (do (throw $e (local.get 0)))
      (catch $e (i32.add (i32.const 1)))))
)
