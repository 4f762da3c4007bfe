# Grouped bars, one group per workload and client, one bar per server.
# Called by report.py: gnuplot -e "datafile='...'; outfile='...'" chart.gp
# Columns: label, msg/s for 4 servers, CPU us/msg for the same 4; '-' = no row.
set terminal pngcairo size 1100,820 font "sans,9"
set output outfile
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left horizontal
set grid ytics
set logscale y
set xtics nomirror font "sans,8"
set lmargin 10
set bmargin 3.5
set multiplot layout 2,1 title "ringmx vs smtp-sink (discard) and Postfix (durable queue), medians, log scale"
set ylabel "messages/s (higher is better)"
plot datafile using 2:xtic(1) title columnheader(2) lc rgb "#9e9e9e", \
     '' using 3 title columnheader(3) lc rgb "#1f77b4", \
     '' using 4 title columnheader(4) lc rgb "#d9a441", \
     '' using 5 title columnheader(5) lc rgb "#2ca02c"
set ylabel "server CPU µs per message (lower is better)"
plot datafile using 6:xtic(1) title columnheader(6) lc rgb "#9e9e9e", \
     '' using 7 title columnheader(7) lc rgb "#1f77b4", \
     '' using 8 title columnheader(8) lc rgb "#d9a441", \
     '' using 9 title columnheader(9) lc rgb "#2ca02c"
unset multiplot
