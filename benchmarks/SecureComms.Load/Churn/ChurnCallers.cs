using System.Collections.Concurrent;
using System.Globalization;
using System.Net;

namespace SecureComms.Load.Churn;

/// <summary>
/// The churn run's callers: each sends <c>GET /work</c> back to back through its own client from
/// <c>IHttpClientFactory</c> until told to stop. Every request that completes with 200 and the expected body is counted
/// in the time bucket it completed in; every other outcome (another status, another body, an exception) is a failure,
/// kept with its time and reason.
/// </summary>
internal sealed class ChurnCallers
{
    private const int MaxFailuresKept = 50;
    private readonly RunClock _clock;
    private readonly long[] _completed;
    private readonly ConcurrentQueue<(TimeSpan At, string Reason)> _failures = new();
    private long _failed;

    /// <param name="clock">The run's clock.</param>
    /// <param name="bucket">The width of one bucket.</param>
    /// <param name="longest">The longest the load can run; later completions are counted in the last bucket.</param>
    public ChurnCallers(RunClock clock, TimeSpan bucket, TimeSpan longest)
    {
        _clock = clock;
        Bucket = bucket;
        _completed = new long[(int)Math.Ceiling(longest / bucket) + 1];
    }

    public TimeSpan Bucket { get; }

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The first failures, in the order they happened (at most <see cref="MaxFailuresKept"/>).</summary>
    public IReadOnlyCollection<(TimeSpan At, string Reason)> Failures => _failures;

    /// <summary>Requests completed in each bucket, from the run's start up to <paramref name="end"/> (exclusive).</summary>
    public long[] CompletedBuckets(TimeSpan end)
    {
        long[] buckets = new long[Math.Min(_completed.Length, (int)(end / Bucket))];
        for (int i = 0; i < buckets.Length; i++)
        {
            buckets[i] = Interlocked.Read(ref _completed[i]);
        }

        return buckets;
    }

    public async Task CallAsync(HttpClient client, Version version, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            string? failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/work") { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
                using HttpResponseMessage response = await client.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
                string body = await response.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
                failure = response.StatusCode == HttpStatusCode.OK && body == LoadServers.Body
                    ? null
                    : string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {response.ReasonPhrase} {response.Headers.WwwAuthenticate}").TrimEnd();
            }
            catch (Exception ex)
            {
                failure = Describe(ex);
            }

            TimeSpan at = _clock.Elapsed;
            if (failure is null)
            {
                Interlocked.Increment(ref _completed[Math.Min(_completed.Length - 1, (int)(at / Bucket))]);
            }
            else
            {
                Interlocked.Increment(ref _failed);
                if (_failures.Count < MaxFailuresKept)
                {
                    _failures.Enqueue((at, failure));
                }
            }
        }
    }

    /// <summary>An exception and its inner exceptions, outermost first: the innermost usually names the TLS or token failure.</summary>
    private static string Describe(Exception ex)
    {
        var text = new System.Text.StringBuilder();
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            text.Append(text.Length == 0 ? "" : " → ").Append(e.GetType().Name).Append(": ").Append(e.Message);
        }

        return text.ToString();
    }
}
