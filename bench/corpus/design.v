// Input of the Yosys workload of bench/engine.sh (written here; Yosys is the
// program under test): LANES multiply-accumulate lanes with a barrel shifter
// and a counter each, so synthesis has arithmetic, muxes and flip-flops to map.
module lane(input clk, input rst, input [15:0] a, input [15:0] b, input [4:0] sh,
            output reg [39:0] acc, output [31:0] rot, output reg [7:0] count);
  wire [31:0] p = a * b;
  always @(posedge clk)
    if (rst) begin acc <= 0; count <= 0; end
    else begin acc <= acc + p; count <= count + (p[0] ? 8'd1 : 8'd3); end
  wire [31:0] x = {a, b};
  assign rot = (x << sh) | (x >> (32 - sh));
endmodule

module top #(parameter LANES = 4) (input clk, input rst, input [16*LANES-1:0] a,
           input [16*LANES-1:0] b, input [4:0] sh, output [39:0] sum, output [31:0] rot);
  wire [40*LANES-1:0] accs;
  wire [32*LANES-1:0] rots;
  genvar i;
  generate for (i = 0; i < LANES; i = i + 1) begin : l
    lane u(.clk(clk), .rst(rst), .a(a[16*i +: 16]), .b(b[16*i +: 16]), .sh(sh),
           .acc(accs[40*i +: 40]), .rot(rots[32*i +: 32]), .count());
  end endgenerate
  integer k;
  reg [39:0] s; reg [31:0] r;
  always @* begin
    s = 0; r = 0;
    for (k = 0; k < LANES; k = k + 1) begin s = s + accs[40*k +: 40]; r = r ^ rots[32*k +: 32]; end
  end
  assign sum = s;
  assign rot = r;
endmodule
