;; A fuzz seed for the translator's br_table as a computed goto (br_table() in
;; src/compile/xl_func.c): an interpreter's dispatch loop, a table in a loop whose targets take a
;; value (in place, moved) or return, and two tables in one loop, so that the fuzzers start from
;; tables of the shape that gets it (in a loop, 8 or more entries, 4 or more targets).
(module
  (func (export "interp") (param i32 i32) (result i32) (local i32 i32)
    loop block block block block block block block block block block
      local.get 3 local.get 0 i32.eq br_if 9
      local.get 3 i32.const 1 i32.add local.set 3
      local.get 1 i32.const 1103515245 i32.mul i32.const 12345 i32.add local.set 1
      local.get 1 i32.const 28 i32.shr_u br_table 0 1 2 3 4 5 6 7 0 3 8
    end local.get 2 i32.const 1 i32.add local.set 2 br 9
    end local.get 2 local.get 1 i32.xor local.set 2 br 8
    end local.get 2 i32.const 3 i32.mul local.set 2 br 7
    end local.get 2 i32.const 5 i32.rotl local.set 2 br 6
    end local.get 2 local.get 3 i32.sub local.set 2 br 5
    end local.get 2 i32.const 1 i32.shr_u local.set 2 br 4
    end local.get 2 local.get 1 i32.const 16 i32.shr_u i32.add local.set 2 br 3
    end local.get 2 i32.const -1 i32.xor local.set 2 br 2
    end local.get 2 i32.const 7 i32.add local.set 2 br 1
    end end local.get 2)
  (func (export "pick") (param i32 i32) (result i32)
    loop (result i32) block (result i32) i32.const 9
      block (result i32) block (result i32)
        local.get 1 local.get 0 br_table 2 1 0 4 1 2 0 4 2 1
      end i32.const 1000 i32.add br 1
    end i32.add end i32.const 30000 i32.add end)
  (func (export "two") (param i32) (result i32) (local i32)
    loop
      block block block block
        local.get 0 br_table 0 1 2 3 0 1 2 3 3
      end local.get 1 i32.const 1 i32.add local.set 1
      end local.get 1 i32.const 2 i32.add local.set 1
      end local.get 1 i32.const 3 i32.add local.set 1
      end
      block block block block block
        local.get 0 br_table 0 1 2 3 4 0 1 2 3 4 0 4
      end local.get 1 i32.const 1 i32.add local.set 1
      end local.get 1 i32.const 2 i32.add local.set 1
      end local.get 1 i32.const 3 i32.add local.set 1
      end local.get 1 i32.const 4 i32.add local.set 1
      end
    end local.get 1))
