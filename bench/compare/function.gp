# bench/compare/function.gp: the idle gap between two jobs inside the function's
# process, from bench/compare/function's data files.
# bench/compare/function passes, with gnuplot -e "data='DIR'; out='DIR'; names='...'":
#   names                     every stack measured (renderq first)
# Data files:
#   DIR/gaps-NAME-MODE.dat    gap_ms cumulative_share, MODE sleep (0 s calls) or cpu (2 ms)

set terminal pngcairo size 960,540 font "sans,11" noenhanced
set grid
set key outside right top box
set output out . "/compare-function-gaps.png"
set title "Idle time between two queued jobs inside the function's process\n" . \
          "(one call's end to the next one's start; solid: 0 s calls, dashed: 2 ms of CPU)"
set xlabel "gap (ms, log scale)"
set ylabel "share of gaps at most this long"
set logscale x 10
set yrange [0:1]
set ytics 0.1
colors = "#1f77b4 #d62728 #ff7f0e"
plot for [i=1:words(names)] data . "/gaps-" . word(names, i) . "-sleep.dat" using 1:2 \
         with lines lw 2 dt 1 lc rgb word(colors, i) title word(names, i) . " (sleep)", \
     for [i=1:words(names)] data . "/gaps-" . word(names, i) . "-cpu.dat" using 1:2 \
         with lines lw 2 dt 2 lc rgb word(colors, i) title word(names, i) . " (cpu)"
