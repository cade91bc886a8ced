// Command bigquery-emulator runs github.com/goccy/bigquery-emulator v0.8.1 for
// pulso's tests. It lives in its own module so the emulator's ~380 modules stay
// out of pulso's go.mod; .ci/bqemulator.sh builds it into a cache directory.
//
// It mirrors upstream's cmd/bigquery-emulator (which cannot be imported) with
// the standard flag package. With --port=0 / --grpc-port=0 the kernel picks free
// ports and the bound addresses are printed on stdout:
//
//	[bigquery-emulator] REST server listening at 127.0.0.1:PORT
//	[bigquery-emulator] gRPC server listening at 127.0.0.1:PORT
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/goccy/bigquery-emulator/server"
	"github.com/goccy/bigquery-emulator/types"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "[bigquery-emulator]", err)
		os.Exit(1)
	}
}

func run() error {
	project := flag.String("project", os.Getenv("BIGQUERY_EMULATOR_PROJECT"), "project id")
	dataset := flag.String("dataset", os.Getenv("BIGQUERY_EMULATOR_DATASET"), "dataset id created empty at start")
	host := flag.String("host", "127.0.0.1", "listen host")
	port := flag.Uint("port", 9050, "REST port (0 = any free port)")
	grpcPort := flag.Uint("grpc-port", 9060, "Storage API gRPC port (0 = any free port)")
	logLevel := flag.String("log-level", "error", "debug, info, warn or error")
	database := flag.String("database", "", "SQLite file; in memory when empty")
	yamlPath := flag.String("data-from-yaml", "", "YAML file with the initial data")
	version := flag.Bool("version", false, "print the emulator version")
	flag.Parse()
	if *version {
		fmt.Println("github.com/goccy/bigquery-emulator v0.8.1")
		return nil
	}
	if *project == "" {
		return errors.New("the required flag --project was not specified")
	}
	db := server.TempStorage
	if *database != "" {
		db = server.Storage(fmt.Sprintf("file:%s?cache=shared", *database))
	}
	p := types.NewProject(*project)
	if *dataset != "" {
		p.Datasets = append(p.Datasets, types.NewDataset(*dataset))
	}
	srv, err := server.New(db)
	if err != nil {
		return err
	}
	if err := srv.SetProject(p.ID); err != nil {
		return err
	}
	if err := srv.Load(server.StructSource(p)); err != nil {
		return err
	}
	if err := srv.SetLogLevel(server.LogLevel(*logLevel)); err != nil {
		return err
	}
	if *yamlPath != "" {
		if err := srv.Load(server.YAMLSource(*yamlPath)); err != nil {
			return err
		}
	}
	ctx := context.Background()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		_ = srv.Stop(ctx)
	}()
	srv.SetListenCallback(func(httpAddr, grpcAddr string) {
		fmt.Printf("[bigquery-emulator] REST server listening at %s\n", httpAddr)
		fmt.Printf("[bigquery-emulator] gRPC server listening at %s\n", grpcAddr)
	})
	err = srv.Serve(ctx, fmt.Sprintf("%s:%d", *host, *port), fmt.Sprintf("%s:%d", *host, *grpcPort))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
