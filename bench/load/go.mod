module vaporform.dev/bench/load

go 1.19
