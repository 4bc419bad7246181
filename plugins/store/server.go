package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sluice-dev/sluice/cache"
	pb "github.com/sluice-dev/sluice/plugins/store/proto"
)

// chunkSize is how many blob bytes one message carries, well under gRPC's
// default 4 MiB message limit.
const chunkSize = 1 << 20

// server serves a cache.Store over the protocol.
type server struct {
	pb.UnimplementedStoreServer
	store cache.Store
}

// toStatus turns a store's error into the status the protocol gives it.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, cache.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, cache.ErrCorrupt):
		return status.Error(codes.DataLoss, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Unavailable, err.Error())
}

func badRequest(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

func toKey(b []byte) (cache.Key, error) {
	var k cache.Key
	if len(b) != len(k) {
		return k, badRequest("key: %d bytes, want %d", len(b), len(k))
	}
	copy(k[:], b)
	return k, nil
}

func toDigest(b []byte) (cache.Digest, error) {
	var d cache.Digest
	if len(b) != len(d) {
		return d, badRequest("digest: %d bytes, want %d", len(b), len(d))
	}
	copy(d[:], b)
	return d, nil
}

func (s *server) GetEntry(ctx context.Context, req *pb.GetEntryRequest) (*pb.GetEntryResponse, error) {
	key, err := toKey(req.GetKey())
	if err != nil {
		return nil, err
	}
	e, err := s.store.GetEntry(ctx, key)
	if err != nil {
		return nil, toStatus(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode entry %s: %v", key, err)
	}
	return &pb.GetEntryResponse{EntryJson: data}, nil
}

func (s *server) PutEntry(ctx context.Context, req *pb.PutEntryRequest) (*pb.PutEntryResponse, error) {
	key, err := toKey(req.GetKey())
	if err != nil {
		return nil, err
	}
	e, err := decodeEntry(req.GetEntryJson(), key)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	return &pb.PutEntryResponse{}, toStatus(s.store.PutEntry(ctx, e))
}

// decodeEntry decodes an entry's JSON and checks that it is the entry of
// key: what both sides of the protocol do with an entry they receive.
func decodeEntry(data []byte, key cache.Key) (*cache.Entry, error) {
	e := new(cache.Entry)
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("entry %s: %w", key, err)
	}
	if e.Key != key {
		return nil, fmt.Errorf("entry %s: holds key %s", key, e.Key)
	}
	return e, nil
}

func (s *server) DeleteEntry(ctx context.Context, req *pb.DeleteEntryRequest) (*pb.DeleteEntryResponse, error) {
	key, err := toKey(req.GetKey())
	if err != nil {
		return nil, err
	}
	return &pb.DeleteEntryResponse{}, toStatus(s.store.DeleteEntry(ctx, key))
}

func (s *server) ListEntries(_ *pb.ListEntriesRequest, stream grpc.ServerStreamingServer[pb.ListEntriesResponse]) error {
	return toStatus(s.store.ListEntries(stream.Context(), func(e *cache.Entry) error {
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode entry %s: %w", e.Key, err)
		}
		return stream.Send(&pb.ListEntriesResponse{EntryJson: data})
	}))
}

// recvReader reads a PutBlob request stream as the blob's bytes.
type recvReader struct {
	stream grpc.ClientStreamingServer[pb.PutBlobRequest, pb.PutBlobResponse]
	buf    []byte
}

func (r *recvReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		req, err := r.stream.Recv()
		if err != nil {
			return 0, err // io.EOF once the client has sent everything
		}
		r.buf = req.GetData()
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (s *server) PutBlob(stream grpc.ClientStreamingServer[pb.PutBlobRequest, pb.PutBlobResponse]) error {
	d, n, err := s.store.PutBlob(stream.Context(), &recvReader{stream: stream})
	if err != nil {
		return toStatus(err)
	}
	return stream.SendAndClose(&pb.PutBlobResponse{Digest: d[:], Size: n})
}

func (s *server) OpenBlob(req *pb.OpenBlobRequest, stream grpc.ServerStreamingServer[pb.OpenBlobResponse]) error {
	d, err := toDigest(req.GetDigest())
	if err != nil {
		return err
	}
	r, err := s.store.OpenBlob(stream.Context(), d)
	if err != nil {
		return toStatus(err)
	}
	defer r.Close()
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if err := stream.Send(&pb.OpenBlobResponse{Data: buf[:n]}); err != nil {
				return err
			}
		}
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF:
			return nil
		case err != nil:
			return toStatus(err)
		}
	}
}

func (s *server) StatBlob(ctx context.Context, req *pb.StatBlobRequest) (*pb.StatBlobResponse, error) {
	d, err := toDigest(req.GetDigest())
	if err != nil {
		return nil, err
	}
	n, err := s.store.StatBlob(ctx, d)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.StatBlobResponse{Size: n}, nil
}

func (s *server) DeleteBlob(ctx context.Context, req *pb.DeleteBlobRequest) (*pb.DeleteBlobResponse, error) {
	d, err := toDigest(req.GetDigest())
	if err != nil {
		return nil, err
	}
	return &pb.DeleteBlobResponse{}, toStatus(s.store.DeleteBlob(ctx, d))
}

func (s *server) ListBlobs(_ *pb.ListBlobsRequest, stream grpc.ServerStreamingServer[pb.ListBlobsResponse]) error {
	return toStatus(s.store.ListBlobs(stream.Context(), func(d cache.Digest, size int64, mod time.Time) error {
		return stream.Send(&pb.ListBlobsResponse{Digest: d[:], Size: size, ModTimeUnixNano: mod.UnixNano()})
	}))
}
