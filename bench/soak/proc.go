package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// procStatus reads VmRSS (KiB) and Threads of /proc/PID/status ("self" for
// this process).
func procStatus(pid string) (rssKiB int64, threads int) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return -1, -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		switch k {
		case "VmRSS":
			rssKiB, _ = strconv.ParseInt(v, 10, 64)
		case "Threads":
			threads, _ = strconv.Atoi(v)
		}
	}
	return rssKiB, threads
}

// openFiles counts /proc/PID/fd.
func openFiles(pid string) int {
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
