/* Values in the spec scripts: parsing, comparing (with NaN classes), printing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

uint8_t spec_type_code(const char *t) {
  if (!t) return 0;
  if (!strcmp(t, "i32")) return MOTE_ABI_I32;
  if (!strcmp(t, "i64")) return MOTE_ABI_I64;
  if (!strcmp(t, "f32")) return MOTE_ABI_F32;
  if (!strcmp(t, "f64")) return MOTE_ABI_F64;
  if (!strcmp(t, "funcref")) return MOTE_ABI_FUNCREF;
  if (!strcmp(t, "externref")) return MOTE_ABI_EXTERNREF;
  return 0;
}

/* A host reference `ref.extern N` is the pointer N + 1, so that N = 0 is not null. */
static wasm_rt_externref_t extern_ref(uint64_t n) { return (wasm_rt_externref_t)(uintptr_t)(n + 1); }

bool spec_parse_value(json_t *v, uint8_t *type, mote_val *out) {
  const char *t = json_string_value(json_object_get(v, "type"));
  const char *s = json_string_value(json_object_get(v, "value"));
  memset(out, 0, sizeof *out);
  if (!t || !(*type = spec_type_code(t))) return false;
  if (!s) return false;
  uint64_t n = strtoull(s, NULL, 10);
  switch (*type) {
    case MOTE_ABI_I32: out->i32 = (uint32_t)n; break;
    case MOTE_ABI_I64: out->i64 = n; break;
    case MOTE_ABI_F32: { uint32_t b = (uint32_t)n; memcpy(&out->f32, &b, 4); break; }
    case MOTE_ABI_F64: memcpy(&out->f64, &n, 8); break;
    case MOTE_ABI_FUNCREF:
      if (strcmp(s, "null") != 0) return false; /* the scripts only pass null funcrefs */
      out->funcref = wasm_rt_funcref_null_value;
      break;
    case MOTE_ABI_EXTERNREF:
      out->externref = strcmp(s, "null") == 0 ? wasm_rt_externref_null_value : extern_ref(n);
      break;
  }
  return true;
}

bool spec_value_matches(json_t *expected, uint8_t type, mote_val got) {
  const char *t = json_string_value(json_object_get(expected, "type"));
  const char *s = json_string_value(json_object_get(expected, "value"));
  if (!t || spec_type_code(t) != type) return false;
  if (type == MOTE_ABI_FUNCREF) {
    if (!s) return got.funcref.func != NULL; /* any non-null function */
    return strcmp(s, "null") == 0 && got.funcref.func == NULL;
  }
  if (!s) return false;
  if (type == MOTE_ABI_F32 && !strncmp(s, "nan:", 4)) {
    uint32_t b;
    memcpy(&b, &got.f32, 4);
    if (!strcmp(s, "nan:canonical")) return (b & 0x7fffffffu) == 0x7fc00000u;
    return (b & 0x7fc00000u) == 0x7fc00000u; /* arithmetic: quiet bit set */
  }
  if (type == MOTE_ABI_F64 && !strncmp(s, "nan:", 4)) {
    uint64_t b;
    memcpy(&b, &got.f64, 8);
    if (!strcmp(s, "nan:canonical")) return (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
    return (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
  }
  uint8_t ty;
  mote_val want;
  if (!spec_parse_value(expected, &ty, &want)) return false;
  switch (type) {
    case MOTE_ABI_I32: return want.i32 == got.i32;
    case MOTE_ABI_I64: return want.i64 == got.i64;
    case MOTE_ABI_F32: return memcmp(&want.f32, &got.f32, 4) == 0; /* bit-exact */
    case MOTE_ABI_F64: return memcmp(&want.f64, &got.f64, 8) == 0;
    case MOTE_ABI_EXTERNREF: return want.externref == got.externref;
  }
  return false;
}

void spec_format_value(uint8_t type, mote_val v, char *out, size_t cap) {
  uint32_t b32;
  uint64_t b64;
  switch (type) {
    case MOTE_ABI_I32: snprintf(out, cap, "i32:%" PRIu32, v.i32); break;
    case MOTE_ABI_I64: snprintf(out, cap, "i64:%" PRIu64, v.i64); break;
    case MOTE_ABI_F32: memcpy(&b32, &v.f32, 4); snprintf(out, cap, "f32:0x%08" PRIx32 " (%g)", b32, v.f32); break;
    case MOTE_ABI_F64: memcpy(&b64, &v.f64, 8); snprintf(out, cap, "f64:0x%016" PRIx64 " (%g)", b64, v.f64); break;
    case MOTE_ABI_FUNCREF: snprintf(out, cap, "funcref:%p", (void *)v.funcref.func); break;
    case MOTE_ABI_EXTERNREF: snprintf(out, cap, "externref:%p", v.externref); break;
    default: snprintf(out, cap, "?"); break;
  }
}
