# One test's specification of the WASI test suite (its X.json, or {} when it
# has none) as what mote's runners need (tests/wasi/testsuite_lib.sh):
#
#   {args: [..], env: {..}, root: null|"dir", exit_code: N,
#    stdout: null|"text", stderr: null|"text"}       a test mote can run
#   {unsupported: "why"}                              one it cannot run
#
# The suite's specification.md has two forms. The legacy one (args, env,
# root, exit_code, stdout, stderr; stdout and stderr are compared only when
# given) is read as the operations run, wait, and a read of each stream it
# names, as the suite's own executor converts it. The operation-based one is
# read as it is: mote runs a test as one process to its end, so it takes one
# run and one wait, with reads of stdout and stderr after the run (all reads
# of a stream together are its whole expected output); connect, send, recv
# and "proposals" (sockets, http) are beyond preview1 and make the test
# unsupported, never silently passed.

def legacy:
  [{type: "run", args: (.args // []), env: (.env // {}), root: .root},
   {type: "wait", exit_code: (.exit_code // 0)}]
  + (if has("stdout") then [{type: "read", id: "stdout", payload: .stdout}] else [] end)
  + (if has("stderr") then [{type: "read", id: "stderr", payload: .stderr}] else [] end);

def reads($ops; $id):
  [$ops[] | select(.type == "read" and (.id // "stdout") == $id) | .payload // ""]
  | if length == 0 then null else join("") end;

. as $c
| (if has("operations") then .operations else legacy end) as $ops
| [$ops[] | .type] as $types
| ($ops | map(.type) | index("run")) as $run_at
| if (($c.proposals // []) | length) > 0 then
    {unsupported: "needs the proposals \($c.proposals | join(", ")), which are beyond preview1"}
  elif ([$types[] | select(. != "run" and . != "wait" and . != "read")] | length) > 0 then
    {unsupported: "has operations \([$types[] | select(. != "run" and . != "wait" and . != "read")] | unique | join(", ")), which are beyond preview1"}
  elif ([$types[] | select(. == "run")] | length) != 1
       or ([$types[] | select(. == "wait")] | length) != 1 then
    {unsupported: "has \([$types[] | select(. == "run")] | length) run and \([$types[] | select(. == "wait")] | length) wait operations; a test is one run and its wait"}
  elif ($ops | map(.type) | index("wait")) < $run_at
       or ([$ops[0:$run_at][] | select(.type == "read")] | length) > 0 then
    {unsupported: "has a wait or read before its run"}
  elif ([$ops[] | select(.type == "read" and ((.id // "stdout") | IN("stdout", "stderr") | not))]
        | length) > 0 then
    {unsupported: "reads a stream other than stdout and stderr"}
  elif ([$ops[$run_at].args // [] | if type == "array" then .[] else 0 end | select(type != "string")]
        | length) > 0 or ($ops[$run_at].args // [] | type) != "array"
       or (($ops[$run_at].env // {}) | type != "object" or ([.[] | select(type != "string")] | length) > 0)
       or (($ops[$run_at].root // "") | type) != "string"
       or ([$ops[] | select(.type == "read") | .payload // "" | select(type != "string")] | length) > 0
       or ([$ops[] | select(.type == "wait") | .exit_code // 0 | select(type != "number")] | length) > 0 then
    {unsupported: "is malformed: args must be strings, env an object of strings, root a string, payloads strings, exit_code a number"}
  else
    ($ops[$run_at]) as $run
    | {args: ($run.args // []), env: ($run.env // {}), root: ($run.root // null),
       exit_code: ([$ops[] | select(.type == "wait")][0].exit_code // 0),
       stdout: reads($ops; "stdout"), stderr: reads($ops; "stderr")}
  end
