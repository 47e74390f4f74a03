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
  if (!strcmp(t, "v128")) return MOTE_ABI_V128;
  if (!strcmp(t, "funcref")) return MOTE_ABI_FUNCREF;
  if (!strcmp(t, "externref")) return MOTE_ABI_EXTERNREF;
  return 0;
}

/* A host reference `ref.extern N` is the pointer N + 1, so that N = 0 is not null. */
static wasm_rt_externref_t extern_ref(uint64_t n) { return (wasm_rt_externref_t)(uintptr_t)(n + 1); }

/* The lane width in bytes of a v128's "lane_type", or 0. */
static int lane_bytes(const char *lt) {
  if (!lt) return 0;
  if (!strcmp(lt, "i8")) return 1;
  if (!strcmp(lt, "i16")) return 2;
  if (!strcmp(lt, "i32") || !strcmp(lt, "f32")) return 4;
  if (!strcmp(lt, "i64") || !strcmp(lt, "f64")) return 8;
  return 0;
}

/* {"type": "v128", "lane_type": "i16", "value": ["1", ...]}: lanes as decimal
 * bit patterns, little-endian into 16 bytes. */
static bool parse_v128(json_t *v, uint8_t out[16]) {
  int w = lane_bytes(json_string_value(json_object_get(v, "lane_type")));
  json_t *lanes = json_object_get(v, "value");
  if (!w || !json_is_array(lanes) || json_array_size(lanes) != (size_t)(16 / w)) return false;
  for (int i = 0; i < 16 / w; i++) {
    const char *s = json_string_value(json_array_get(lanes, i));
    if (!s) return false;
    uint64_t n = s[0] == '-' ? (uint64_t)strtoll(s, NULL, 10) : strtoull(s, NULL, 10);
    for (int k = 0; k < w; k++) out[i * w + k] = (uint8_t)(n >> (8 * k));
  }
  return true;
}

/* One lane of a v128 result against the expected lane text (a bit pattern
 * or a NaN class for float lanes). */
static bool lane_matches(const char *s, int w, bool is_float, const uint8_t *got) {
  uint64_t b = 0;
  for (int k = 0; k < w; k++) b |= (uint64_t)got[k] << (8 * k);
  if (is_float && !strncmp(s, "nan:", 4)) {
    bool canonical = !strcmp(s, "nan:canonical");
    if (w == 4) return canonical ? (b & 0x7fffffffu) == 0x7fc00000u : (b & 0x7fc00000u) == 0x7fc00000u;
    return canonical ? (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull
                     : (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
  }
  uint64_t n = s[0] == '-' ? (uint64_t)strtoll(s, NULL, 10) : strtoull(s, NULL, 10);
  uint64_t mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;
  return (n & mask) == b;
}

static bool v128_matches(json_t *expected, const uint8_t got[16]) {
  const char *lt = json_string_value(json_object_get(expected, "lane_type"));
  int w = lane_bytes(lt);
  json_t *lanes = json_object_get(expected, "value");
  if (!w || !json_is_array(lanes) || json_array_size(lanes) != (size_t)(16 / w)) return false;
  for (int i = 0; i < 16 / w; i++) {
    const char *s = json_string_value(json_array_get(lanes, i));
    if (!s || !lane_matches(s, w, lt[0] == 'f', got + i * w)) return false;
  }
  return true;
}

bool spec_parse_value(json_t *v, uint8_t *type, mote_val *out) {
  const char *t = json_string_value(json_object_get(v, "type"));
  const char *s = json_string_value(json_object_get(v, "value"));
  memset(out, 0, sizeof *out);
  if (!t || !(*type = spec_type_code(t))) return false;
  if (*type == MOTE_ABI_V128) return parse_v128(v, out->v128);
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
  if (type == MOTE_ABI_V128) return v128_matches(expected, got.v128);
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
    case MOTE_ABI_V128: {
      size_t n = (size_t)snprintf(out, cap, "v128:0x");
      for (int i = 15; i >= 0 && n + 2 < cap; i--) n += (size_t)snprintf(out + n, cap - n, "%02x", v.v128[i]);
      break;
    }
    default: snprintf(out, cap, "?"); break;
  }
}
