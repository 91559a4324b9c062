# bench/compare/plots.gp: the comparison plots, from bench/compare/run's data files.
# bench/compare/run passes, with gnuplot -e "data='DIR'; out='DIR'; names='...'; ...":
#   names colors dashes       every configuration, in throughput.dat's column order, with
#                             its line colour and dash type (1 today's, 2 like for like)
#   today today_colors        today's configurations (empty: no compare-latency.png)
#   ll ll_colors              the like-for-like ones (empty: no compare-ll-latency.png)
# Data files:
#   DIR/throughput.dat        connections, then 2xx submits/s per configuration
#   DIR/latency-NAME.dat      t_s p50_ms p99_ms requests, 100 ms windows of a 64-connection burst

set terminal pngcairo size 960,540 font "sans,11" noenhanced
set grid
set key outside right top box

set output out . "/compare-throughput.png"
set title "Submits per second (2xx only; renderq: each one committed to disk)\n" . \
          "solid: renders on this CPU, plain-HTTP peer; dashed: like for like (nginx TLS both, renders off the CPU)"
set xlabel "concurrent connections"
set ylabel "submits/s"
set logscale x 2
set xtics (1, 2, 4, 8, 16, 32, 64)
set xrange [0.8:80]
set yrange [0:*]
plot for [i=1:words(names)] data . "/throughput.dat" using 1:(column(i + 1)) \
     with linespoints lw 2 dt int(word(dashes, i)) pt (word(dashes, i) eq "1" ? 7 : 5) \
     lc rgb word(colors, i) title word(names, i)

unset logscale x
set xtics autofreq
set xrange [*:*]
set xlabel "seconds since the burst began"
set ylabel "latency (ms, log scale)"
set logscale y 10
set yrange [*:*]

if (words(today) > 0) {
    set output out . "/compare-latency.png"
    set title "Submit latency during a 64-connection burst, renders on this CPU (per 100 ms: p50 thin, p99 thick)"
    plot for [i=1:words(today)] data . "/latency-" . word(today, i) . ".dat" using 1:3 \
           with lines lw 2.5 lc rgb word(today_colors, i) title word(today, i) . " p99", \
         for [i=1:words(today)] data . "/latency-" . word(today, i) . ".dat" using 1:2 \
           with lines lw 1 dt 2 lc rgb word(today_colors, i) title word(today, i) . " p50"
}

if (words(ll) > 0) {
    set output out . "/compare-ll-latency.png"
    set title "Submit latency during a 64-connection burst, like for like (per 100 ms: p50 thin, p99 thick)"
    plot for [i=1:words(ll)] data . "/latency-" . word(ll, i) . ".dat" using 1:3 \
           with lines lw 2.5 lc rgb word(ll_colors, i) title word(ll, i) . " p99", \
         for [i=1:words(ll)] data . "/latency-" . word(ll, i) . ".dat" using 1:2 \
           with lines lw 1 dt 2 lc rgb word(ll_colors, i) title word(ll, i) . " p50"
}
