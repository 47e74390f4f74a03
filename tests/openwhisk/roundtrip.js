// A whole round trip of OpenWhisk's npm client against a real `mote serve`:
// the Proof of issue 6. It starts nothing itself; test_openwhisk.sh starts
// the server and passes, in the environment:
//
//   OW_APIHOST      http://127.0.0.1:PORT
//   OW_AUTH         uuid:key of namespace guest (the development key)
//   OW_OTHER_NS     a second namespace, OW_OTHER_AUTH its uuid:key
//   OW_LIMITED_NS   a third, limited to 4 calls at once and 12 a minute
//                   (mote namespaces limits), OW_LIMITED_AUTH its uuid:key
//   OW_WASM         the test action (actions/echo.c built for wasm32-wasi)
//   OW_ZIP          a zip of it as main.wasm and greeting.txt ("hello from a zip")
//   OW_DATA         the server's data directory, where the gates open (below)
//
// The steps run in order and build on each other (node:test runs top-level
// tests one at a time). The 429 steps run in their own namespace, whose
// small limits throttle no other step.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const openwhisk = require('openwhisk')

const env = (name) => {
  const v = process.env[name]
  if (!v) throw new Error(`${name} is not set (test_openwhisk.sh sets it)`)
  return v
}
const apihost = env('OW_APIHOST')
// The operator's /metrics (mote serve --metrics-listen): never on apihost.
const metricsUrl = env('OW_METRICS_URL')
const guestKey = env('OW_AUTH')
const otherNs = env('OW_OTHER_NS')
const otherKey = env('OW_OTHER_AUTH')
const limitedNs = env('OW_LIMITED_NS')
const limitedKey = env('OW_LIMITED_AUTH')
const wasm = fs.readFileSync(env('OW_WASM'))
const zip = fs.readFileSync(env('OW_ZIP'))
const dataDir = env('OW_DATA')

const client = (ns, key) => openwhisk({ apihost, namespace: ns, api_key: key })
const ow = client('guest', guestKey)
const KIND = 'wasm:0.1'
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr): /
const ACTIVATION_ID = /^[0-9a-f]{32}$/

// An OpenWhisk error reply: the status, and both fields the wsk CLI needs.
async function rejects (promise, status, message) {
  let err
  try {
    await promise
  } catch (e) {
    err = e
  }
  assert.ok(err, `expected HTTP ${status}, the call succeeded`)
  assert.equal(err.statusCode, status, `expected HTTP ${status}: ${err.message}`)
  if (status !== 502) {
    assert.equal(typeof err.error, 'object', `the body of a ${status} is JSON: ${err.message}`)
    assert.equal(typeof err.error.error, 'string')
    assert.equal(typeof err.error.code, 'string')
    if (message instanceof RegExp) assert.match(err.error.error, message)
    else if (message) assert.equal(err.error.error, message)
  }
  return err
}

// Waits for a non-blocking activation's record (404 until it is written), up
// to 2 minutes: a bound only against a hang.
async function activationOf (id, o = ow) {
  const deadline = Date.now() + 120000
  for (;;) {
    try {
      return await o.activations.get({ activationId: id })
    } catch (e) {
      if (e.statusCode !== 404 || Date.now() > deadline) throw e
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

const annotation = (rec, key) => (rec.annotations.find((a) => a.key === key) || {}).value

test('info route: no key needed', async () => {
  const r = await fetch(`${apihost}/api/v1`)
  assert.equal(r.status, 200)
  const body = await r.json()
  assert.equal(body.api_version, '1.0.0')
  assert.equal(body.api_version_path, 'v1')
})

test('namespaces: the caller\'s own', async () => {
  assert.deepEqual(await ow.namespaces.list(), ['guest'])
})

test('create from a Buffer (a module)', async () => {
  const a = await ow.actions.create({ name: 'echo', action: wasm, kind: KIND, params: { fixed: 'yes' } })
  assert.equal(a.name, 'echo')
  assert.equal(a.namespace, 'guest')
  assert.equal(a.version, '0.0.1')
  assert.equal(a.exec.kind, KIND)
  assert.equal(a.exec.binary, true)
  assert.deepEqual(a.parameters, [{ key: 'fixed', value: 'yes' }])
  assert.deepEqual(a.limits, { timeout: 60000, memory: 256, logs: 10, concurrency: 1 })
  assert.equal(annotation(a, 'exec'), KIND)
  // Again without overwrite: 409.
  await rejects(ow.actions.create({ name: 'echo', action: wasm, kind: KIND }), 409,
    'resource already exists')
})

test('create from a zip: main.wasm and its files', async () => {
  const a = await ow.actions.create({ name: 'zipped', action: zip, kind: KIND })
  assert.equal(a.exec.kind, KIND)
  const r = await ow.actions.invoke({ name: 'zipped', params: { file: true }, blocking: true, result: true })
  assert.deepEqual(r, { file: 'hello from a zip' })
})

test('an unknown kind: OpenWhisk\'s 400', async () => {
  await rejects(ow.actions.create({ name: 'js', action: 'function main() {}', kind: 'nodejs:20' }),
    400, /kind 'nodejs:20' not in/)
  await rejects(ow.actions.create({ name: 'big', action: wasm, kind: KIND, limits: { memory: 1024 } }),
    400, /memory 1024 MB exceeds allowed threshold of 536870912 B/)
})

test('update merges: what is left out stays', async () => {
  const a = await ow.actions.update({ name: 'echo', limits: { timeout: 30000 } })
  assert.equal(a.version, '0.0.2')
  assert.equal(a.limits.timeout, 30000)
  assert.equal(a.limits.memory, 256)
  assert.deepEqual(a.parameters, [{ key: 'fixed', value: 'yes' }])
  assert.equal(a.exec.kind, KIND)
})

test('get with and without code', async () => {
  const a = await ow.actions.get({ name: 'echo' })
  assert.equal(a.version, '0.0.2')
  assert.deepEqual(Buffer.from(a.exec.code, 'base64'), wasm)
  const b = await ow.actions.get({ name: 'echo', code: false })
  assert.equal(b.exec.code, undefined)
  assert.equal(b.exec.kind, KIND)
  await rejects(ow.actions.get({ name: 'nothing-here' }), 404,
    'The requested resource does not exist.')
})

test('list with limit, skip and count', async () => {
  const all = await ow.actions.list()
  const names = all.map((a) => a.name).sort()
  assert.deepEqual(names, ['echo', 'zipped'])
  assert.equal(all[0].exec.binary, true)
  assert.equal(all[0].exec.code, undefined)
  assert.equal((await ow.actions.list({ limit: 1 })).length, 1)
  assert.equal((await ow.actions.list({ skip: 1 })).length, 1)
  assert.deepEqual(await ow.actions.list({ count: true }), { actions: 2 })
})

test('invoke blocking: the whole activation', async () => {
  const act = await ow.actions.invoke({ name: 'echo', params: { x: 1 }, blocking: true })
  assert.match(act.activationId, ACTIVATION_ID)
  assert.equal(act.namespace, 'guest')
  assert.equal(act.name, 'echo')
  assert.equal(act.version, '0.0.2')
  assert.equal(act.subject, 'guest')
  assert.equal(act.response.status, 'success')
  assert.equal(act.response.success, true)
  // The parameters arrive on stdin and as argv[1], the action's merged under the call's.
  assert.deepEqual(act.response.result.params, { fixed: 'yes', x: 1 })
  assert.deepEqual(act.response.result.argv1, { fixed: 'yes', x: 1 })
  assert.ok(act.duration >= 0 && act.end >= act.start)
  assert.equal(act.logs.length, 2)
  assert.match(act.logs[0], LOG_LINE)
  assert.ok(act.logs[0].endsWith(' stdout: hello from stdout'))
  assert.ok(act.logs[1].endsWith(' stderr: hello from stderr'))
  assert.equal(annotation(act, 'path'), 'guest/echo')
  assert.equal(annotation(act, 'kind'), KIND)
  assert.equal(annotation(act, 'timeout'), false)
  assert.equal(typeof annotation(act, 'waitTime'), 'number')
  assert.deepEqual(annotation(act, 'limits'), { timeout: 30000, memory: 256, logs: 10, concurrency: 1 })
})

test('invoke blocking with result: the result alone', async () => {
  const r = await ow.actions.invoke({ name: 'echo', params: { y: 'z' }, blocking: true, result: true })
  assert.deepEqual(r.params, { fixed: 'yes', y: 'z' })
})

test('invoke non-blocking, then the activation, its result and its logs', async () => {
  const r = await ow.actions.invoke({ name: 'echo', params: { n: 2 } })
  assert.deepEqual(Object.keys(r), ['activationId'])
  assert.match(r.activationId, ACTIVATION_ID)
  const act = await activationOf(r.activationId)
  assert.equal(act.activationId, r.activationId)
  assert.equal(act.response.status, 'success')
  const res = await ow.activations.result({ activationId: r.activationId })
  assert.equal(res.success, true)
  assert.equal(res.status, 'success')
  assert.deepEqual(res.result.params, { fixed: 'yes', n: 2 })
  const logs = await ow.activations.logs({ activationId: r.activationId })
  assert.equal(logs.logs.length, 2)
  logs.logs.forEach((l) => assert.match(l, LOG_LINE))
  // The list: newest first, filtered by name; summaries unless docs=true.
  const list = await ow.activations.list({ name: 'echo', limit: 2 })
  assert.equal(list.length, 2)
  assert.equal(list[0].activationId, r.activationId)
  assert.equal(list[0].logs, undefined)
  assert.equal(list[0].statusCode, 0)
  const docs = await ow.activations.list({ name: 'echo', limit: 1, docs: true })
  assert.deepEqual(docs[0].response.result.params, { fixed: 'yes', n: 2 })
  const since = await ow.activations.list({ name: 'echo', since: act.start })
  assert.ok(since.some((a) => a.activationId === r.activationId))
  const upto = await ow.activations.list({ name: 'echo', upto: act.start - 1 })
  assert.ok(!upto.some((a) => a.activationId === r.activationId))
  await rejects(ow.activations.get({ activationId: '0'.repeat(32) }), 404)
})

test('an application error: 502 with the activation', async () => {
  const err = await rejects(ow.actions.invoke({ name: 'echo', params: { fail: true }, blocking: true }), 502)
  assert.equal(err.error.response.status, 'application error')
  assert.deepEqual(err.error.response.result, { error: 'failed on request' })
  const err2 = await rejects(ow.actions.invoke({ name: 'echo', params: { nodict: true }, blocking: true }), 502)
  assert.equal(err2.error.response.status, 'action developer error')
  assert.deepEqual(err2.error.response.result, { error: 'The action did not return a dictionary.' })
})

test('a timeout: a developer error naming the limit', async () => {
  await ow.actions.create({ name: 'spinner', action: wasm, kind: KIND, limits: { timeout: 300 } })
  const err = await rejects(ow.actions.invoke({ name: 'spinner', params: { spin: true }, blocking: true }), 502)
  const act = err.error
  assert.equal(act.response.status, 'action developer error')
  assert.deepEqual(act.response.result, { error: 'The action exceeded its time limits of 300 milliseconds.' })
  assert.equal(annotation(act, 'timeout'), true)
})

test('a web action: .json, .http, and 404 when not exported', async () => {
  await ow.actions.create({ name: 'web', action: wasm, kind: KIND, annotations: { 'web-export': true } })
  let r = await fetch(`${apihost}/api/v1/web/guest/default/web.json/some/path?q=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ b: 2 }) })
  assert.equal(r.status, 200)
  const body = await r.json()
  assert.equal(body.params.__ow_method, 'post')
  assert.equal(body.params.__ow_path, '/some/path')
  assert.equal(body.params.__ow_headers['content-type'], 'application/json')
  assert.equal(body.params.q, '1')
  assert.equal(body.params.b, 2)
  r = await fetch(`${apihost}/api/v1/web/guest/default/web.http?http=true`)
  assert.equal(r.status, 201)
  assert.equal(r.headers.get('x-mote'), 'web')
  assert.match(r.headers.get('content-type'), /^text\/plain/)
  assert.equal(await r.text(), 'hello web')
  r = await fetch(`${apihost}/api/v1/web/guest/default/echo.json`)
  assert.equal(r.status, 404)
  const e = await r.json()
  assert.equal(typeof e.error, 'string')
  assert.equal(typeof e.code, 'string')
})

test('the same functions through /v1 and /faas', async () => {
  // /faas/NAME: raw stdin and argv, as any function (the key: echo is not public).
  const authorization = 'Basic ' + Buffer.from(guestKey).toString('base64')
  const r = await fetch(`${apihost}/faas/echo?arg=plain`, { method: 'POST', body: '{"via":"faas"}', headers: { authorization } })
  assert.equal(r.status, 200)
  const text = await r.text()
  assert.match(text, /"params":\{"via":"faas"\},"argv1":plain\}/)
  const id = r.headers.get('x-mote-activation-id')
  // /v1 sees the same function and the same activation.
  const f = await (await fetch(`${apihost}/v1/functions/echo`, { headers: { authorization } })).json()
  assert.equal(f.name, 'echo')
  assert.equal(f.namespace, 'guest')
  const act = await ow.activations.get({ activationId: id })
  assert.equal(act.name, 'echo')
  assert.equal(act.response.status, 'success')
})

test('delete: the action comes back, then 404', async () => {
  const a = await ow.actions.delete({ name: 'zipped' })
  assert.equal(a.name, 'zipped')
  await rejects(ow.actions.get({ name: 'zipped' }), 404)
  await rejects(ow.actions.delete({ name: 'zipped' }), 404)
})

test('a wrong key: 401', async () => {
  const bad = client('guest', guestKey.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')))
  await rejects(bad.actions.list(), 401)
})

test('another namespace: 403 on its path; its names are its own', async () => {
  const other = client(otherNs, otherKey)
  assert.deepEqual(await other.namespaces.list(), [otherNs])
  assert.deepEqual(await other.actions.list(), [])
  // guest's key on the other namespace's path, and the other's on guest's.
  await rejects(client(otherNs, guestKey).actions.list(), 403)
  await rejects(client('guest', otherKey).actions.get({ name: 'echo' }), 403)
  // Names are per namespace, as in OpenWhisk: the other namespace's echo is
  // its own action, and guest's stays as it was.
  const before = await ow.actions.get({ name: 'echo', code: false })
  await rejects(other.actions.get({ name: 'echo' }), 404)
  const mine = await other.actions.create({ name: 'echo', action: wasm, kind: KIND, params: { who: 'other' } })
  assert.equal(mine.namespace, otherNs)
  assert.equal(mine.version, '0.0.1')
  const r = await other.actions.invoke({ name: 'echo', params: {}, blocking: true, result: true })
  assert.deepEqual(r.params, { who: 'other' })
  const after = await ow.actions.get({ name: 'echo', code: false })
  assert.equal(after.version, before.version)
  assert.deepEqual(after.parameters, before.parameters)
  // Another namespace's activation is not found, as one that does not exist.
  const id = (await ow.actions.invoke({ name: 'echo', params: {}, blocking: true })).activationId
  await rejects(other.activations.get({ activationId: id }), 404)
  await other.actions.create({ name: 'sleeper', action: wasm, kind: KIND })
  const s = await other.actions.invoke({ name: 'sleeper', params: {}, blocking: true, result: true })
  assert.deepEqual(s.params, {})
  // A web action exists under its own namespace only.
  const w = await fetch(`${apihost}/api/v1/web/${otherNs}/default/web.json`)
  assert.equal(w.status, 404)
})

// Gates (tests/server/programs/gate.h): a call of a zip action with the
// parameter {gate: NAME} holds its slot until the test creates the file NAME
// among the action's files, in the server's data directory.
async function openGate (name, action, key) {
  const r = await fetch(`${apihost}/v1/functions/${action}`,
    { headers: { Authorization: 'Basic ' + Buffer.from(key).toString('base64') } })
  assert.equal(r.status, 200, `GET /v1/functions/${action}`)
  const dir = path.join(dataDir, 'files', (await r.json()).files_hash)
  fs.chmodSync(dir, 0o755) // read-only to the guest, not to us
  fs.writeFileSync(path.join(dir, name), '')
}

test('429: calls in flight per namespace (mote namespaces limits: 4)', async () => {
  const limited = client(limitedNs, limitedKey)
  await limited.actions.create({ name: 'slow', action: zip, kind: KIND, limits: { timeout: 300000 } })
  // Outcomes, not timings: four calls first, held at a gate; once the server
  // shows all four running (its /metrics), two more, which must be refused;
  // then the gate opens and the four finish. The waits are bounded only
  // against a hang (2 minutes).
  const invoke = (params) => limited.actions.invoke({ name: 'slow', params, blocking: true, result: true })
  const running = [0, 1, 2, 3].map(() => invoke({ gate: 'four' }).then(() => 'ok', (e) => e))
  let seen = ''
  for (const deadline = Date.now() + 120000; Date.now() < deadline;) {
    const m = await (await fetch(`${metricsUrl}`)).text()
    seen = (m.match(new RegExp(`^mote_function_calls_running\\{namespace="${limitedNs}",function="slow"\\} (\\d+)$`, 'm')) || [])[1]
    if (seen === '4') break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  assert.equal(seen, '4', 'the four gated calls are running')
  assert.equal((await fetch(`${apihost}/metrics`)).status, 404, '/metrics is not on the API host')
  const extra = await Promise.all([invoke({}), invoke({})].map((p) => p.then(() => 'ok', (e) => e)))
  await openGate('four', 'slow', limitedKey)
  for (const e of extra) {
    assert.notEqual(e, 'ok', 'a 5th call while four run is refused')
    assert.equal(e.statusCode, 429, e.message)
    assert.match(e.error.error, /^Too many concurrent requests in flight \(count: 4, allowed: 4\)\.$/)
    assert.equal(typeof e.error.code, 'string')
  }
  assert.deepEqual(await Promise.all(running), ['ok', 'ok', 'ok', 'ok'], 'the four running calls finish')
})

test('429: invocations per minute per namespace (mote namespaces limits: 12)', async () => {
  const limited = client(limitedNs, limitedKey)
  let refused
  let ok = 0
  for (let i = 0; i < 20 && !refused; i++) {
    try {
      await limited.actions.invoke({ name: 'slow', params: {}, blocking: true, result: true })
      ok++
    } catch (e) {
      refused = e
    }
  }
  assert.ok(refused, 'the 13th invocation in a minute is refused')
  assert.equal(ok, 12 - 4, 'the 4 admitted calls of the previous step count in the minute')
  assert.equal(refused.statusCode, 429, refused.message)
  assert.match(refused.error.error, /^Too many requests in the last minute \(count: \d+, allowed: 12\)\.$/)
  // Another namespace is not throttled.
  assert.deepEqual(await ow.actions.invoke({ name: 'echo', params: {}, blocking: true, result: true }),
    { params: { fixed: 'yes' }, argv1: { fixed: 'yes' } })
})
