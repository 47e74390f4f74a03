-- The Lua workload of make bench-engine: recursion, a table sort, string matching.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t = {}
for i = 1, 300000 do t[i] = (i * 7919) % 100003 end
table.sort(t)
local s = 0
for i = 1, #t, 97 do s = s + t[i] end
local words = {}
for w in string.gmatch(string.rep("the quick brown fox jumps over the lazy dog ", 40000), "%a+") do
  words[w] = (words[w] or 0) + 1
end
print(fib(30), s, words.the, words.fox, string.format("%.6f", math.sqrt(s)))
