package store

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/cache"
	pb "github.com/sluice-dev/sluice/plugins/store/proto"
)

// defaultTimeout bounds one entry, stat or delete call.
const defaultTimeout = 10 * time.Second

// Client is a cache.Store served by a plugin. It trusts nothing the
// plugin says that it can check: entries must hold the key asked for, and
// blob digests are recomputed on the way in and on the way out.
type Client struct {
	rpc     pb.StoreClient
	timeout time.Duration
	// name is the plugin in error messages; close stops it.
	name  string
	close func()
}

// Close stops the plugin process, if this client started it.
func (c *Client) Close() error {
	if c.close != nil {
		c.close()
	}
	return nil
}

// fromStatus turns a status from the plugin into the error the cache
// package's callers expect.
func (c *Client) fromStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	msg := fmt.Sprintf("store plugin %s: %s: %s", c.name, op, st.Message())
	switch st.Code() {
	case codes.NotFound:
		return fmt.Errorf("%s: %w", msg, cache.ErrNotFound)
	case codes.DataLoss:
		return fmt.Errorf("%s: %w", msg, cache.ErrCorrupt)
	case codes.Canceled:
		return fmt.Errorf("%s: %w", msg, context.Canceled)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w", msg, context.DeadlineExceeded)
	}
	return fmt.Errorf("%s (%s)", msg, st.Code())
}

func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

// GetEntry implements cache.Store.
func (c *Client) GetEntry(ctx context.Context, key cache.Key) (*cache.Entry, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	resp, err := c.rpc.GetEntry(ctx, &pb.GetEntryRequest{Key: key[:]})
	if err != nil {
		return nil, c.fromStatus("get entry "+key.String(), err)
	}
	e, err := decodeEntry(resp.GetEntryJson(), key)
	if err != nil {
		return nil, fmt.Errorf("store plugin %s: get %v: %w", c.name, err, cache.ErrCorrupt)
	}
	return e, nil
}

// PutEntry implements cache.Store.
func (c *Client) PutEntry(ctx context.Context, e *cache.Entry) error {
	if e == nil || e.Key.IsZero() {
		return errors.New("put entry: no key")
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("put entry %s: %w", e.Key, err)
	}
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err = c.rpc.PutEntry(ctx, &pb.PutEntryRequest{Key: e.Key[:], EntryJson: data})
	return c.fromStatus("put entry "+e.Key.String(), err)
}

// DeleteEntry implements cache.Store.
func (c *Client) DeleteEntry(ctx context.Context, key cache.Key) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.rpc.DeleteEntry(ctx, &pb.DeleteEntryRequest{Key: key[:]})
	return c.fromStatus("delete entry "+key.String(), err)
}

// ListEntries implements cache.Store. An entry that does not decode is
// skipped: listing is for people and garbage collection, and one bad
// record must not hide the rest.
func (c *Client) ListEntries(ctx context.Context, fn func(*cache.Entry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.ListEntries(ctx, &pb.ListEntriesRequest{})
	if err != nil {
		return c.fromStatus("list entries", err)
	}
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.fromStatus("list entries", err)
		}
		e := new(cache.Entry)
		if json.Unmarshal(resp.GetEntryJson(), e) != nil {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// PutBlob implements cache.Store: it hashes what it sends and refuses a
// digest from the plugin that is not that hash.
func (c *Client) PutBlob(ctx context.Context, r io.Reader) (cache.Digest, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.PutBlob(ctx)
	if err != nil {
		return cache.Digest{}, 0, c.fromStatus("put blob", err)
	}
	h := sha256.New()
	buf := make([]byte, chunkSize)
	var n int64
	for {
		m, rerr := io.ReadFull(r, buf)
		if m > 0 {
			h.Write(buf[:m])
			n += int64(m)
			if err := stream.Send(&pb.PutBlobRequest{Data: buf[:m]}); err != nil {
				// The server ended the call: its status says why.
				_, err = stream.CloseAndRecv()
				return cache.Digest{}, 0, c.fromStatus("put blob", err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return cache.Digest{}, 0, fmt.Errorf("put blob: %w", rerr) // cancel aborts the upload
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return cache.Digest{}, 0, c.fromStatus("put blob", err)
	}
	want := cache.Digest(h.Sum(nil))
	got, err := toDigest(resp.GetDigest())
	if err != nil || got != want || resp.GetSize() != n {
		return cache.Digest{}, 0, fmt.Errorf("store plugin %s: put blob: stored %x (%d bytes) for content %s (%d bytes)",
			c.name, resp.GetDigest(), resp.GetSize(), want, n)
	}
	return want, n, nil
}

// OpenBlob implements cache.Store. A missing blob shows here, not at the
// first Read; the reader checks the content against d.
func (c *Client) OpenBlob(ctx context.Context, d cache.Digest) (io.ReadCloser, error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := c.rpc.OpenBlob(ctx, &pb.OpenBlobRequest{Digest: d[:]})
	if err != nil {
		cancel()
		return nil, c.fromStatus("open blob "+d.String(), err)
	}
	first, err := stream.Recv()
	var buf []byte
	switch {
	case err == io.EOF: // an empty blob
	case err != nil:
		cancel()
		return nil, c.fromStatus("open blob "+d.String(), err)
	default:
		buf = first.GetData()
	}
	br := &blobReader{c: c, d: d, recv: stream.Recv, cancel: cancel, buf: buf, eof: err == io.EOF}
	return cache.VerifyReader(br, d, func() { _ = c.DeleteBlob(context.WithoutCancel(ctx), d) }), nil
}

// blobReader reads an OpenBlob response stream as the blob's bytes.
type blobReader struct {
	c      *Client
	d      cache.Digest
	recv   func() (*pb.OpenBlobResponse, error)
	cancel context.CancelFunc
	buf    []byte
	eof    bool
}

func (r *blobReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		resp, err := r.recv()
		if err == io.EOF {
			r.eof = true
			return 0, io.EOF
		}
		if err != nil {
			return 0, r.c.fromStatus("read blob "+r.d.String(), err)
		}
		r.buf = resp.GetData()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (r *blobReader) Close() error {
	r.cancel()
	return nil
}

// StatBlob implements cache.Store.
func (c *Client) StatBlob(ctx context.Context, d cache.Digest) (int64, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	resp, err := c.rpc.StatBlob(ctx, &pb.StatBlobRequest{Digest: d[:]})
	if err != nil {
		return 0, c.fromStatus("stat blob "+d.String(), err)
	}
	return resp.GetSize(), nil
}

// DeleteBlob implements cache.Store.
func (c *Client) DeleteBlob(ctx context.Context, d cache.Digest) error {
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.rpc.DeleteBlob(ctx, &pb.DeleteBlobRequest{Digest: d[:]})
	return c.fromStatus("delete blob "+d.String(), err)
}

// ListBlobs implements cache.Store.
func (c *Client) ListBlobs(ctx context.Context, fn func(cache.Digest, int64, time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.rpc.ListBlobs(ctx, &pb.ListBlobsRequest{})
	if err != nil {
		return c.fromStatus("list blobs", err)
	}
	for {
		resp, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.fromStatus("list blobs", err)
		}
		d, err := toDigest(resp.GetDigest())
		if err != nil {
			continue
		}
		if err := fn(d, resp.GetSize(), time.Unix(0, resp.GetModTimeUnixNano())); err != nil {
			return err
		}
	}
}

var _ cache.Store = (*Client)(nil)
