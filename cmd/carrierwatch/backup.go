package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/carrierwatch/carrierwatch/service"
)

// cmdBackup writes a verified copy of the database: carrierwatch backup
// FILE|DIR. It works while the daemon runs and takes none of its locks.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, path := flags("backup", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: carrierwatch backup FILE|DIR (a folder gets carrierwatch-YYYYMMDDTHHMMSSZ.db)")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	dst := fs.Arg(0)
	if st, err := os.Stat(dst); err == nil && st.IsDir() {
		dst = filepath.Join(dst, "carrierwatch-"+time.Now().UTC().Format("20060102T150405Z")+".db")
	}
	info, err := service.Backup(ctx, cfg, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written: %s (%s, schema version %d, integrity ok; %d incidents, %d campaigns, %d messages) in %s\n",
		info.Path, megabytes(info.Size), info.Schema.Version, info.Incidents, info.Campaigns, info.Messages, info.Took.Round(time.Millisecond))
	return nil
}
