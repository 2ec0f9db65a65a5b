// Command buildassets builds the browser's files into static/dist (see package assets):
// esbuild bundles, vendored htmx and Swagger UI, Pyodide, their .br/.gz variants and the
// manifest that package static embeds. Run it from the repository root, after `npm ci`:
//
//	go run ./cmd/buildassets            # what `make assets` runs
//	go run ./cmd/buildassets -watch     # rebuild the bundles on every change (make dev)
//
// Outputs are content-addressed, so a second run only recompresses what changed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"duet/assets"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "buildassets:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg := assets.DefaultConfig()
	fs := flag.NewFlagSet("buildassets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	watch := fs.Bool("watch", false, "rebuild the bundles whenever a source changes, until interrupted")
	verbose := fs.Bool("v", false, "log every compressed file and print the size table")
	fs.StringVar(&cfg.Root, "root", cfg.Root, "repository root (package.json, node_modules, assets/)")
	fs.StringVar(&cfg.OutDir, "out", cfg.OutDir, "output directory, relative to -root; stale files in it are deleted")
	fs.IntVar(&cfg.BrotliQuality, "brotli", cfg.BrotliQuality, "brotli quality (1-11) of files under -large bytes")
	fs.IntVar(&cfg.LargeBrotliQuality, "brotli-large", cfg.LargeBrotliQuality, "brotli quality (1-11) of files of -large bytes or more (the Pyodide wasm): 9 takes 2 s, 11 takes 40 s and saves 11 %")
	fs.Int64Var(&cfg.LargeFile, "large", cfg.LargeFile, "size in bytes from which -brotli-large applies")
	fs.BoolVar(&cfg.RepackStdlib, "repack-stdlib", cfg.RepackStdlib, "store python_stdlib.zip uncompressed so that br/gzip compress it better")
	fs.BoolVar(&cfg.KeepIdentity, "identity", cfg.KeepIdentity, "also write uncompressed copies of compressible files (not needed by package static)")
	fs.BoolVar(&cfg.Force, "force", cfg.Force, "recompress every file, even when its .br and .gz are up to date")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, q := range []int{cfg.BrotliQuality, cfg.LargeBrotliQuality} {
		if q < 1 || q > 11 {
			return fmt.Errorf("brotli quality %d: want 1 to 11", q)
		}
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	cfg.Logf = func(format string, a ...any) {
		if *verbose || *watch {
			logf(format, a...)
		}
	}
	if *watch {
		return assets.Watch(ctx, cfg)
	}

	start := time.Now()
	res, err := assets.Build(ctx, cfg)
	if err != nil {
		return err
	}
	var raw, br, gz int64
	fresh := 0
	for _, f := range res.Files {
		raw, br, gz = raw+f.Raw, br+f.Br, gz+f.Gz
		if f.Compressed {
			fresh++
		}
	}
	if *verbose {
		tw := tabwriter.NewWriter(stderr, 0, 8, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "raw\tbr\tgz\tcompress\tfile\t")
		for _, f := range res.Files {
			took := "up to date"
			if f.Compressed {
				took = f.Took.Round(time.Millisecond).String()
			} else if f.Br == 0 {
				took = "-"
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%s\t\n", f.Raw, f.Br, f.Gz, took, f.Path)
		}
		tw.Flush()
	}
	logf("buildassets: %d files (%d compressed now), %d bytes raw, %d br, %d gz; bundle %v, copy %v, write+compress %v, total %v",
		len(res.Files), fresh, raw, br, gz,
		res.Bundle.Round(time.Millisecond), res.Copy.Round(time.Millisecond),
		res.Compress.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}
