package main

import (
	"context"
	"errors"
	"io"
)

func sweep(ctx context.Context, args []string, stderr io.Writer) error { return errors.New("todo") }
