# bench/compare/plots.gp: the two comparison plots, from bench/compare/run's data files.
# gnuplot -e "data='DIR'; out='DIR'; names='renderq peer-h11 peer-uvloop'" plots.gp
#   DIR/throughput.dat       connections, then 2xx submits/s per stack (columns in `names` order)
#   DIR/latency-NAME.dat     t_s p50_ms p99_ms requests, 100 ms windows of a 64-connection burst

set terminal pngcairo size 960,540 font "sans,11" noenhanced
set grid
set key outside right top box
colors = "#1f77b4 #d62728 #ff7f0e"

set output out . "/compare-throughput.png"
set title "Submits per second while renders run (2xx only; renderq: each one committed to disk)"
set xlabel "concurrent connections"
set ylabel "submits/s"
set logscale x 2
set xtics (1, 2, 4, 8, 16, 32, 64)
set xrange [0.8:80]
set yrange [0:*]
plot for [i=1:words(names)] data . "/throughput.dat" using 1:(column(i + 1)) \
     with linespoints lw 2 pt 7 lc rgb word(colors, i) title word(names, i)

unset logscale x
set xtics autofreq
set xrange [*:*]
set output out . "/compare-latency.png"
set title "Submit latency during a 64-connection burst (per 100 ms: p50 thin, p99 thick)"
set xlabel "seconds since the burst began"
set ylabel "latency (ms, log scale)"
set logscale y 10
set yrange [*:*]
plot for [i=1:words(names)] data . "/latency-" . word(names, i) . ".dat" using 1:3 \
       with lines lw 2.5 lc rgb word(colors, i) title word(names, i) . " p99", \
     for [i=1:words(names)] data . "/latency-" . word(names, i) . ".dat" using 1:2 \
       with lines lw 1 dt 2 lc rgb word(colors, i) title word(names, i) . " p50"
