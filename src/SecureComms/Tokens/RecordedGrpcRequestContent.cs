using System.Net;
using System.Net.Http.Headers;

namespace SecureComms;

/// <summary>
/// Wraps the content of a gRPC call so that the call can be sent again after its token was renewed: the bytes go to the
/// transport as they are written and are also kept, up to <see cref="MaxRecordedBytes"/>. The call can be replayed only
/// when the whole request had been written before the refusal was read, without the content ever flushing, and within
/// the bound. A content that flushes is pushing a live stream (a client- or duplex-streaming call of Grpc.Net.Client
/// flushes to put the request headers and each message on the wire, HttpClient's way of sending a streamed request
/// body, dotnet/runtime#30295): those are never replayed, their messages are written by the application over time. A
/// unary or server-streaming call writes its one message and ends.
/// </summary>
/// <remarks>
/// This judges the content by what it does, not by its type: Grpc.Net.Client's content types are internal and may change.
/// </remarks>
internal sealed class RecordedGrpcRequestContent : HttpContent
{
    /// <summary>The most request bytes kept for a replay: a larger call is not replayed.</summary>
    internal const int MaxRecordedBytes = 64 * 1024;

    private readonly HttpContent _inner;
    private byte[]? _buffer;
    private int _length;
    private volatile int _state; // Recording, Complete or NotReplayable

    private const int Recording = 0;
    private const int Complete = 1;
    private const int NotReplayable = 2;

    public RecordedGrpcRequestContent(HttpContent inner)
    {
        _inner = inner;
        foreach (KeyValuePair<string, HeaderStringValues> header in inner.Headers.NonValidated)
        {
            Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
    }

    /// <summary>
    /// The recorded request as a new content with the same content headers, or <see langword="null"/> when the call
    /// cannot be replayed (still being written, a stream, larger than the bound, or failed).
    /// </summary>
    public ByteArrayContent? TryCreateReplay()
    {
        if (_state != Complete)
        {
            return null;
        }

        var replay = new ByteArrayContent(_buffer ?? [], 0, _length);
        foreach (KeyValuePair<string, HeaderStringValues> header in Headers.NonValidated)
        {
            replay.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        return replay;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.CopyToAsync(new RecordingStream(stream, this), context, cancellationToken).ConfigureAwait(false);
            Interlocked.CompareExchange(ref _state, Complete, Recording);
        }
        catch
        {
            _state = NotReplayable;
            throw;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false; // pushed as written (a gRPC request is framed by its own length prefixes)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Record(ReadOnlySpan<byte> bytes)
    {
        if (_state != Recording)
        {
            return;
        }

        int needed = _length + bytes.Length;
        if (needed > MaxRecordedBytes)
        {
            _state = NotReplayable;
            _buffer = null;
            return;
        }

        if (_buffer is null || needed > _buffer.Length)
        {
            byte[] grown = new byte[Math.Min(MaxRecordedBytes, Math.Max(needed, (_buffer?.Length ?? 0) * 2))];
            _buffer?.AsSpan(0, _length).CopyTo(grown);
            _buffer = grown;
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    private void Flushed()
    {
        _state = NotReplayable;
        _buffer = null;
    }

    /// <summary>Forwards writes to the transport's request stream and records them.</summary>
    private sealed class RecordingStream(Stream transport, RecordedGrpcRequestContent owner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            owner.Record(buffer);
            transport.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            owner.Record(buffer.Span);
            return transport.WriteAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
            owner.Flushed();
            transport.Flush();
        }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            owner.Flushed();
            return transport.FlushAsync(cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
