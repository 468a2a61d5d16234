using System.Net;
using System.Net.Http.Headers;

namespace SecureComms.Tests.Tokens;

/// <summary>
/// What the token handler may replay of a gRPC call after renewing its token: exactly the bytes that went to the
/// transport, with the same content headers, and only when the whole request was written at once, within the bound.
/// </summary>
[TestClass]
public sealed class RecordedGrpcRequestContentTests
{
    [TestMethod]
    public async Task RequestWrittenInFull_IsReplayed_ByteForByte_WithItsContentHeaders()
    {
        byte[] message = [0, 0, 0, 0, 3, 10, 1, 65];
        using var recorded = new RecordedGrpcRequestContent(new PushedContent(message));
        using var transport = new MemoryStream();

        await recorded.CopyToAsync(transport);
        using ByteArrayContent? replay = recorded.TryCreateReplay();

        Assert.AreSequenceEqual(message, transport.ToArray(), "the transport got the request as written");
        Assert.IsNotNull(replay);
        Assert.AreSequenceEqual(message, await replay.ReadAsByteArrayAsync());
        Assert.AreEqual("application/grpc", replay.Headers.ContentType?.MediaType);
        Assert.AreEqual("application/grpc", recorded.Headers.ContentType?.MediaType, "the wrapper sends the same content type");
    }

    public static IEnumerable<object[]> NotReplayable()
    {
        yield return ["larger than the bound", new PushedContent(new byte[RecordedGrpcRequestContent.MaxRecordedBytes + 1]), true];
        yield return ["over the bound in several writes", new PushedContent(new byte[40 * 1024], new byte[40 * 1024]), true];
        yield return ["flushed before its end (a client or duplex stream)", new PushedContent([1, 2, 3]) { Flush = true }, true];
        yield return ["its serialization failed", new PushedContent([1, 2, 3]) { Fail = true }, false];
        yield return ["never sent", new PushedContent([1, 2, 3]), false];
    }

    [TestMethod]
    [DynamicData(nameof(NotReplayable))]
    public async Task Request_IsNotReplayed_When(string name, PushedContent inner, bool send)
    {
        using var recorded = new RecordedGrpcRequestContent(inner);
        if (send)
        {
            await recorded.CopyToAsync(Stream.Null);
        }
        else if (inner.Fail)
        {
            await Assert.ThrowsExactlyAsync<HttpRequestException>(() => recorded.CopyToAsync(Stream.Null), name); // HttpContent wraps the IOException
        }

        Assert.IsNull(recorded.TryCreateReplay(), name);
    }

    [TestMethod]
    public async Task RequestStillBeingWritten_IsNotReplayed()
    {
        var held = new TaskCompletionSource();
        using var recorded = new RecordedGrpcRequestContent(new PushedContent([1, 2, 3]) { Hold = held.Task });

        Task sending = recorded.CopyToAsync(Stream.Null);
        Assert.IsNull(recorded.TryCreateReplay(), "the refusal came while the request was still being written");
        held.SetResult();
        await sending;

        Assert.IsNotNull(recorded.TryCreateReplay(), "written in full now");
    }

    /// <summary>Pushes its chunks to the stream as a gRPC client's request content does.</summary>
    public sealed class PushedContent : HttpContent
    {
        private readonly byte[][] _chunks;

        public PushedContent(params byte[][] chunks)
        {
            _chunks = chunks;
            Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        }

        public bool Flush { get; init; }

        public bool Fail { get; init; }

        public Task? Hold { get; init; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            foreach (byte[] chunk in _chunks)
            {
                await stream.WriteAsync(chunk);
                if (Flush)
                {
                    await stream.FlushAsync();
                }
            }

            if (Hold is not null)
            {
                await Hold;
            }

            if (Fail)
            {
                throw new IOException("the stream was reset");
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
