-- A Lua workload that is all bytecode (bench/lua_ab.sh): a numeric loop with a branch,
-- table reads and writes, and recursive calls; no C library function in the hot path.
local s = 0
for i = 1, 60000000 do
  local x = i % 7
  if x < 3 then s = s + x * 2 else s = s - 1 end
end
local t = {}
for i = 1, 1000 do t[i] = i end
for _ = 1, 3000 do
  for i = 2, 1000 do t[i] = (t[i] + t[i - 1]) % 1000003 end
end
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(s, t[1000], fib(30))
