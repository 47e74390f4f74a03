;; A fuzz seed for the translator's guarded truncation (guarded_trunc in src/compile/xl_func.c):
;; clang's two shapes of C's (int)x, from f32 and f64, to i32 and i64, and near misses. The spec
;; suite, the other seeds, has none.
(module
  (func (export "a") (param f32) (result i32)
    block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt
    if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 end)
  (func (export "b") (param f64) (result i64) (local f64)
    block (result i64) local.get 0 f64.const 0.5 f64.add local.tee 1 f64.abs f64.const 0x1p+63
    f64.lt if local.get 1 i64.trunc_f64_s br 1 end i64.const -9223372036854775808 end)
  (func (export "c") (param f64) (result i32) (local i32)
    block block local.get 0 f64.abs f64.const 0x1p+31 f64.lt i32.eqz br_if 0
    local.get 0 i32.trunc_f64_s local.set 1 br 1 end i32.const -2147483648 local.set 1 end
    local.get 1)
  (func (export "d") (param f32) (result i64) (local i64)
    block block local.get 0 f32.abs f32.const 0x1p+63 f32.lt i32.eqz br_if 0
    local.get 0 i64.trunc_f32_s local.set 1 br 1 end i64.const -9223372036854775808 local.set 1
    end local.get 1)
  (func (export "near_loop") (param f32) (result i32) (local i32)
    loop block local.get 0 f32.abs f32.const 0x1p+31 f32.lt i32.eqz br_if 0
    local.get 0 i32.trunc_f32_s local.set 1 br 1 end i32.const -2147483648 local.set 1 end
    local.get 1)
  (func (export "near_u") (param f32) (result i32)
    block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt
    if local.get 0 i32.trunc_f32_u br 1 end i32.const -2147483648 end))
