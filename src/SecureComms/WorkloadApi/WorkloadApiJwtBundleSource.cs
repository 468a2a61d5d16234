using System.Collections.Frozen;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using Polly;
using Polly.Retry;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms;

/// <summary>
/// The JWT bundles (JWK sets, by trust domain) streamed by the SPIFFE Workload API's <c>FetchJWTBundles</c>, to validate
/// JWT-SVIDs locally. Every pushed response replaces the whole set (a key rotation, a federated trust domain added or
/// removed); a malformed one is ignored and the last good set kept, like a half-written file. A stream that ends or
/// breaks (the agent restarted) is opened again at once and then with exponential back-off and jitter
/// (<see cref="WorkloadApiOptions.ReconnectDelay"/> to <see cref="WorkloadApiOptions.MaxReconnectDelay"/>), keeping
/// the current keys meanwhile. Reads take one snapshot, no lock.
/// </summary>
internal sealed class WorkloadApiJwtBundleSource : IDisposable
{
    private readonly WorkloadApiConnection _connection;
    private readonly WorkloadApiOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstBundles = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private Snapshot? _current;
    private Task? _running;
    private int _updates;
    private WorkloadApiStatus _status;

    public WorkloadApiJwtBundleSource(WorkloadApiConnection connection, WorkloadApiOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _connection = connection;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _status = new WorkloadApiStatus(Connected: false, DisconnectedSince: timeProvider.GetUtcNow(), Problem: "not connected yet", PermissionDenied: false);
    }

    /// <summary>The Workload API address, for the health check.</summary>
    public string Endpoint => _connection.Endpoint.Address;

    /// <summary>Whether the stream was opened (JWT-SVIDs are accepted), for the health check.</summary>
    public bool Started => Volatile.Read(ref _running) is not null;

    /// <summary>The state of the bundle stream, for the health check.</summary>
    public WorkloadApiStatus Status => Volatile.Read(ref _status);

    /// <summary>The stream loop, null before <see cref="Start"/> (for tests: it ends without a fault on dispose).</summary>
    internal Task? Loop => Volatile.Read(ref _running);

    /// <summary>How many pushed responses were applied (for tests and diagnostics).</summary>
    internal int Updates => Volatile.Read(ref _updates);

    /// <summary>When the current bundles were applied; null before the first.</summary>
    public DateTimeOffset? UpdatedAt => Volatile.Read(ref _current)?.UpdatedAt;

    /// <summary>Opens the stream (once; later calls do nothing).</summary>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            _running ??= Task.Run(() => RunAsync(_stop.Token));
        }
    }

    /// <summary>Waits for the first bundles, at most <paramref name="timeout"/>; false when none came in time.</summary>
    public async Task<bool> WaitForBundlesAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Start();
        if (_firstBundles.Task.IsCompleted)
        {
            return true;
        }

        try
        {
            await _firstBundles.Task.WaitAsync(timeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// The JWT-SVID signing keys of <paramref name="trustDomain"/>, empty when it has no JWT bundle (or none came yet).
    /// JWT-SVID §4: a token is validated only against the bundle of the trust domain its <c>sub</c> names.
    /// </summary>
    public IReadOnlyList<SecurityKey> GetKeys(TrustDomain trustDomain) =>
        Volatile.Read(ref _current) is { } snapshot && snapshot.Keys.TryGetValue(trustDomain, out SecurityKey[]? keys) ? keys : [];

    /// <summary>Whether any bundle arrived yet.</summary>
    public bool HasBundles => Volatile.Read(ref _current) is not null;

    private async Task RunAsync(CancellationToken stop)
    {
        ResiliencePipeline pipeline = new ResiliencePipelineBuilder { TimeProvider = _timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                // Stopping is not a broken stream: the call cancelled by Dispose ends as an OperationCanceledException.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException && !stop.IsCancellationRequested),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.ReconnectDelay,
                MaxDelay = _options.MaxReconnectDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    OnDisconnected(args.Outcome.Exception);
                    if (args.Outcome.Exception is RpcException { StatusCode: StatusCode.PermissionDenied })
                    {
                        JwtSvidLog.PermissionDenied(_logger, _connection.Endpoint.Address, args.RetryDelay);
                    }
                    else
                    {
                        JwtSvidLog.StreamBroken(_logger, _connection.Endpoint.Address, Describe(args.Outcome.Exception), args.RetryDelay);
                    }

                    return default;
                },
            })
            .Build();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await pipeline.ExecuteAsync(ReadStreamAsync, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Reads one stream. Returns (so the next stream opens at once, with a fresh back-off) when a stream that delivered
    /// bundles ended or broke; throws (so the back-off grows) when it failed before delivering any.
    /// </summary>
    private async ValueTask ReadStreamAsync(CancellationToken stop)
    {
        bool received = false;
        try
        {
            using AsyncServerStreamingCall<JWTBundlesResponse> call = _connection.FetchJwtBundles(stop);
            while (await call.ResponseStream.MoveNext(stop).ConfigureAwait(false))
            {
                received = true;
                if (!Volatile.Read(ref _status).Connected)
                {
                    Volatile.Write(ref _status, new WorkloadApiStatus(Connected: true, DisconnectedSince: null, Problem: null, PermissionDenied: false));
                }

                Apply(call.ResponseStream.Current);
            }
        }
        catch (RpcException ex) when (stop.IsCancellationRequested)
        {
            // Dispose cancelled the call, which gRPC reports as StatusCode.Cancelled: the host is stopping, nothing broke.
            throw new OperationCanceledException("The JWT bundle stream was stopped.", ex, stop);
        }
        catch (RpcException ex) when (received)
        {
            OnDisconnected(ex);
            JwtSvidLog.StreamBroken(_logger, _connection.Endpoint.Address, Describe(ex), TimeSpan.Zero);
            return;
        }

        stop.ThrowIfCancellationRequested();
        if (!received)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the JWT bundle stream ended before any bundle"));
        }

        OnDisconnected(null);
        JwtSvidLog.StreamBroken(_logger, _connection.Endpoint.Address, "the stream ended", TimeSpan.Zero);
    }

    /// <summary>Records an outage for the health check; its start stays the first failure's time.</summary>
    private void OnDisconnected(Exception? exception)
    {
        WorkloadApiStatus previous = Volatile.Read(ref _status);
        DateTimeOffset since = previous.DisconnectedSince ?? _timeProvider.GetUtcNow();
        bool denied = exception is RpcException { StatusCode: StatusCode.PermissionDenied };
        Volatile.Write(ref _status, new WorkloadApiStatus(Connected: false, DisconnectedSince: since, Problem: Describe(exception), PermissionDenied: denied));
    }

    private static string Describe(Exception? exception) => exception switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        null => "the stream ended",
        _ => exception.GetType().Name + ": " + exception.Message,
    };

    /// <summary>Applies a pushed response as a whole, or keeps the last good bundles when any part of it is malformed.</summary>
    internal void Apply(JWTBundlesResponse response)
    {
        if (!TryParse(response, out Dictionary<TrustDomain, SecurityKey[]>? keys, out string? problem))
        {
            JwtSvidLog.BundleRejected(_logger, problem);
            return;
        }

        var snapshot = new Snapshot(keys.ToFrozenDictionary(), _timeProvider.GetUtcNow());
        Volatile.Write(ref _current, snapshot);
        Interlocked.Increment(ref _updates);
        _firstBundles.TrySetResult();
        if (_logger.IsEnabled(LogLevel.Information))
        {
            var domains = new List<string>();
            var keyIds = new List<string>();
            foreach ((TrustDomain domain, SecurityKey[] domainKeys) in keys)
            {
                domains.Add(domain.Name);
                foreach (SecurityKey key in domainKeys)
                {
                    keyIds.Add(domain.Name + "/" + key.KeyId);
                }
            }

            string domainList = string.Join(", ", domains);
            string keyIdList = string.Join(", ", keyIds);
            JwtSvidLog.BundlesApplied(_logger, domainList, keyIds.Count, keyIdList);
        }
    }

    private bool TryParse(
        JWTBundlesResponse response,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Dictionary<TrustDomain, SecurityKey[]>? keys,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        keys = null;
        if (response.Bundles.Count == 0)
        {
            problem = "the response holds no bundle.";
            return false;
        }

        var parsed = new Dictionary<TrustDomain, SecurityKey[]>();
        foreach ((string name, Google.Protobuf.ByteString bytes) in response.Bundles)
        {
            // The map is keyed by the trust domain's SPIFFE ID (spiffe://example.org); the bare name is accepted too.
            if (!TrustDomain.TryParse(name, out TrustDomain trustDomain, out string? error))
            {
                problem = $"bundle key '{name}' is not a trust domain: {error}";
                return false;
            }

            JsonWebKeySet set;
            try
            {
                set = new JsonWebKeySet(Encoding.UTF8.GetString(bytes.Span));
            }
#pragma warning disable CA1031 // any unreadable JWKS is the same malformed push
            catch (Exception ex)
#pragma warning restore CA1031
            {
                problem = $"the bundle of {trustDomain.Name} is not a JWK set ({ex.GetType().Name}).";
                return false;
            }

            var domainKeys = new List<SecurityKey>();
            foreach (JsonWebKey key in set.Keys)
            {
                if (Skip(key) is { } reason)
                {
                    string keyId = key.KeyId ?? "(no kid)";
                    JwtSvidLog.KeySkipped(_logger, keyId, trustDomain.Name, reason);
                    continue;
                }

                // SPIFFE Trust Domain and Bundle §4.2.1: "use" is "jwt-svid" for JWT-SVID keys; IdentityModel knows only
                // "sig", so the key is handed over without it once checked here.
                key.Use = null;
                domainKeys.Add(key);
            }

            parsed[trustDomain] = [.. domainKeys];
        }

        keys = parsed;
        problem = null;
        return true;
    }

    /// <summary>Why <paramref name="key"/> is not a JWT-SVID signing key, or null when it is one.</summary>
    private static string? Skip(JsonWebKey key)
    {
        if (key.Use is { Length: > 0 } use && use != "jwt-svid" && use != JsonWebKeyUseNames.Sig)
        {
            return $"use '{use}' is not jwt-svid";
        }

        if (string.IsNullOrEmpty(key.KeyId))
        {
            return "no kid (SPIFFE bundle §4.2.2 requires one for a JWT-SVID key)";
        }

        // Public keys of the JWT-SVID algorithms only (JWT-SVID §3): never a symmetric key, never a private part.
        if (key.Kty is not (JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve))
        {
            return $"key type '{key.Kty}' is not RSA or EC";
        }

        return key.HasPrivateKey ? "it holds a private key" : null;
    }

    public void Dispose()
    {
        Task? running;
        lock (_gate)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _stop.Cancel();
            running = _running;
        }

        try
        {
            running?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // stopped: the loop's own failure no longer matters
        }

        _stop.Dispose();
    }

    private sealed record Snapshot(FrozenDictionary<TrustDomain, SecurityKey[]> Keys, DateTimeOffset UpdatedAt);
}
