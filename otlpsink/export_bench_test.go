package otlpsink

// ProcessCPU exports processCPU to the external benchmarks in bench_test.go.
var ProcessCPU = processCPU
