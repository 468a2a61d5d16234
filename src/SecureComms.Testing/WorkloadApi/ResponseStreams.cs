using System.Threading.Channels;
using Grpc.Core;

namespace SecureComms.Testing;

/// <summary>
/// The open server streams of one Workload API method: the latest response (sent first to every new stream) and a
/// queue per stream, so that a push never waits for a slow reader and each stream sees the responses in order.
/// </summary>
internal sealed class ResponseStreams<T>
    where T : class
{
    private readonly Lock _lock = new();
    private readonly List<Subscriber> _subscribers = [];
    private T? _current;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _subscribers.Count;
            }
        }
    }

    public T? Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>Makes <paramref name="response"/> the latest one and queues it on every open stream.</summary>
    /// <returns>How many streams it was queued on.</returns>
    public int Publish(T response)
    {
        lock (_lock)
        {
            _current = response;
            foreach (Subscriber subscriber in _subscribers)
            {
                subscriber.Queue.Writer.TryWrite(response);
            }

            return _subscribers.Count;
        }
    }

    /// <summary>Ends every open stream with <paramref name="status"/>, once each has sent what was queued before.</summary>
    public int EndAll(Status status)
    {
        lock (_lock)
        {
            foreach (Subscriber subscriber in _subscribers)
            {
                subscriber.End = status;
                subscriber.Queue.Writer.TryComplete();
            }

            int count = _subscribers.Count;
            _subscribers.Clear();
            return count;
        }
    }

    /// <summary>Sends the latest response, then every later one, until the call ends or <see cref="EndAll"/>.</summary>
    public async Task ServeAsync(IServerStreamWriter<T> writer, CancellationToken cancellationToken)
    {
        var subscriber = new Subscriber();
        lock (_lock)
        {
            if (_current is not null)
            {
                subscriber.Queue.Writer.TryWrite(_current);
            }

            _subscribers.Add(subscriber);
        }

        try
        {
            await foreach (T response in subscriber.Queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await writer.WriteAsync(response, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_lock)
            {
                _subscribers.Remove(subscriber);
            }
        }

        if (subscriber.End is { } end)
        {
            throw new RpcException(end);
        }
    }

    private sealed class Subscriber
    {
        public Channel<T> Queue { get; } = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });

        public Status? End { get; set; }
    }
}
