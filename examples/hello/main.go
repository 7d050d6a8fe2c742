// hello is the example app of distill: a static HTTP server with a
// --health-check mode, so its image needs no shell or curl for HEALTHCHECK.
package main

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

func addr() string {
	if port := os.Getenv("PORT"); port != "" {
		return "127.0.0.1:" + port
	}
	return "127.0.0.1:8080"
}

// report says who the process runs as and what the image gives it.
func report() string {
	pool, err := x509.SystemCertPool()
	certs := 0
	if err == nil {
		certs = len(pool.Subjects()) //nolint:staticcheck // counting is all we need
	}
	zone := os.Getenv("TZ")
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	where := "unknown"
	if err == nil {
		where = time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC).In(loc).Format("15:04 MST")
	}
	return fmt.Sprintf("uid=%d gid=%d certs=%d tz=%s noon-utc=%s\n",
		os.Getuid(), os.Getgid(), certs, zone, where)
}

func healthCheck() int {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr() + "/health")
	if err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "unhealthy: status", resp.StatusCode)
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--health-check":
			os.Exit(healthCheck())
		case "--report":
			fmt.Print(report())
			return
		}
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello from distill\n"+report())
	})
	fmt.Println("listening on", addr())
	if err := http.ListenAndServe(addr(), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
