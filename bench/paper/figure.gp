# Figures 5 to 7 of the paper: latency per request, one series per platform, one panel per
# function. Called by bench/paper.sh: gnuplot -e "data='DIR'; fig='scma'; out='FILE.png'".
set terminal pngcairo size 1500,480 font ",10"
set output out
titles = "lpr resize recognize"
set multiplot layout 1,3 title (fig eq "scma" ? "Single Client, Multiple Access" : \
    fig eq "mcsa" ? "Multiple Client, Single Access" : "Multiple Client, Multiple Access")
set logscale y
set xlabel "request (in order of sending)"
set ylabel "latency (ms, log scale)"
set grid ytics
set key top right
do for [i=1:3] {
  fn = word(titles, i)
  set title fn
  plot data."/fig-".fig."-".fn."-containers.dat" using 1:2 with linespoints pt 7 ps 0.5 title "containers", \
       data."/fig-".fig."-".fn."-node.dat" using 1:2 with linespoints pt 5 ps 0.5 title "Node prototype", \
       data."/fig-".fig."-".fn."-mote.dat" using 1:2 with linespoints pt 9 ps 0.5 title "mote"
}
unset multiplot
