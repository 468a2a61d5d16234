using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Polly;
using Polly.Retry;
using SecureComms.WorkloadApi.Protocol;

namespace SecureComms;

/// <summary>
/// The workload's X.509-SVID and trust bundles from the SPIFFE Workload API's <c>FetchX509SVID</c> stream: one source for
/// both <see cref="ICertificateSource"/> and <see cref="ITrustBundleSource"/>, fed by one connection.
/// <list type="bullet">
/// <item>Every pushed response is read in memory and checked (<see cref="X509SvidResponseReader"/>); a good one is a
/// rotation exactly like a file rotation (the same change tokens, logs 1000/1100 and rotation metric), a bad one is
/// ignored with a warning (1804) and the last good SVID stays, as a half-written file is.</item>
/// <item>Until the first SVID arrives, <see cref="WaitUntilReadyAsync"/> waits (the agent may start after the workload)
/// and fails after <see cref="WorkloadApiOptions.StartupTimeout"/> with a message naming the socket, or at once when the
/// agent answers <c>PermissionDenied</c> (no identity registered for this workload).</item>
/// <item>A stream that breaks (agent restarted: <c>Unavailable</c> or the stream ended) is reopened at once (after
/// <see cref="WorkloadApiOptions.ReconnectDelay"/> if it lived shorter than that), then with
/// exponential back-off and jitter from <see cref="WorkloadApiOptions.ReconnectDelay"/> to
/// <see cref="WorkloadApiOptions.MaxReconnectDelay"/>; meanwhile the current SVID keeps being served until it expires,
/// and <see cref="Status"/> reports the outage to the health check.</item>
/// </list>
/// </summary>
internal sealed class WorkloadApiX509Source : ICertificateSource, ITrustBundleSource, IDisposable, IAsyncDisposable
{
    private readonly WorkloadApiConnection _connection;
    private readonly WorkloadApiOptions _options;
    private readonly string _endpoint;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SecureCommsMetrics? _metrics;
    private readonly ChangeSignal _certificateChanged = new();
    private readonly ChangeSignal _bundlesChanged = new();
    private readonly TaskCompletionSource _firstUpdate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _startupDeadline;
    private readonly ResiliencePipeline _reconnect;
    private readonly Task _run;
    private X509SvidUpdate? _current;
    private WorkloadApiStatus _status;
    private string? _lastProblem;
    private bool _outageAnnounced;
    private bool _denialAnnounced;
    private long _streamOpenedAt;
    private int _disposed;

    /// <param name="connection">The channel to the agent (not owned: it may serve other streams).</param>
    /// <param name="options">Hint, start-up timeout and reconnect delays.</param>
    /// <param name="endpointDescription">The socket as logs and errors name it, with where it came from.</param>
    /// <param name="timeProvider">The clock for back-off, the start-up deadline and validity checks.</param>
    /// <param name="logger">Receives events 1800–1829, and 1000/1100 on rotations.</param>
    /// <param name="metrics">Counts updates, refusals and outages, when telemetry is registered.</param>
    public WorkloadApiX509Source(
        WorkloadApiConnection connection,
        WorkloadApiOptions options,
        string endpointDescription,
        TimeProvider timeProvider,
        ILogger logger,
        SecureCommsMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _connection = connection;
        _options = options;
        _endpoint = endpointDescription;
        _timeProvider = timeProvider;
        _logger = logger;
        _metrics = metrics;
        _status = new WorkloadApiStatus(Connected: false, DisconnectedSince: timeProvider.GetUtcNow(), Problem: "not connected yet", PermissionDenied: false);
        _reconnect = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is not (null or OperationCanceledException or StreamBrokenException)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.ReconnectDelay,
                MaxDelay = options.MaxReconnectDelay,
                OnRetry = args =>
                {
                    OnReconnectScheduled(args.Outcome.Exception!, args.AttemptNumber, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        _startupDeadline = new CancellationTokenSource(options.StartupTimeout, timeProvider);
        _startupDeadline.Token.Register(static state => ((WorkloadApiX509Source)state!).OnStartupTimeout(), this);
        _run = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>The connection state, for the health check.</summary>
    public WorkloadApiStatus Status => Volatile.Read(ref _status);

    /// <summary>The socket as configured, with where it came from.</summary>
    public string Endpoint => _endpoint;

    /// <summary>The current SVID; throws until the first one arrived.</summary>
    public WorkloadCertificate Certificate => Volatile.Read(ref _current)?.Certificate
        ?? throw new InvalidOperationException($"No X.509-SVID has arrived yet from the SPIFFE Workload API at {_endpoint}.");

    /// <summary>The current trust bundles; empty (trusting nobody) until the first SVID arrived.</summary>
    public TrustBundleSet Bundles => Volatile.Read(ref _current)?.Bundles ?? TrustBundleSet.Empty;

    WorkloadCertificate ICertificateSource.Current => Certificate;

    TrustBundleSet ITrustBundleSource.Current => Bundles;

    IChangeToken ICertificateSource.GetChangeToken() => _certificateChanged.GetChangeToken();

    IChangeToken ITrustBundleSource.GetChangeToken() => _bundlesChanged.GetChangeToken();

    /// <summary>
    /// Completes when the first valid SVID has arrived. Fails with <see cref="InvalidOperationException"/> naming the socket
    /// after <see cref="WorkloadApiOptions.StartupTimeout"/> (counted from construction), or when the agent denies the workload.
    /// </summary>
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken) => _firstUpdate.Task.WaitAsync(cancellationToken);

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // One outage: retried with back-off until a stream delivers a response, which resets the back-off.
                await _reconnect.ExecuteAsync(ReadStreamAsync, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (StreamBrokenException broken)
            {
                // Reopened at once, unless the stream lived shorter than ReconnectDelay: an agent that ends every
                // stream right after a response must not be called in a tight loop.
                TimeSpan pause = _timeProvider.GetElapsedTime(_streamOpenedAt) < _options.ReconnectDelay ? _options.ReconnectDelay : TimeSpan.Zero;
                OnDisconnected(broken.Message, broken.StatusCode);
                if (broken.StatusCode == StatusCode.PermissionDenied)
                {
                    _denialAnnounced = true;
                    WorkloadApiLog.PermissionDenied(_logger, _endpoint, DescribeCurrent(), Volatile.Read(ref _current)?.Certificate.NotAfter, pause);
                }
                else
                {
                    _outageAnnounced = true;
                    WorkloadApiLog.StreamBroken(_logger, _endpoint, broken.Message, DescribeCurrent(), Volatile.Read(ref _current)?.Certificate.NotAfter, pause);
                }

                if (pause > TimeSpan.Zero)
                {
                    await DelayQuietlyAsync(pause, stopping).ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // The background loop must survive anything; the last good SVID stays in use.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                WorkloadApiLog.UnexpectedFailure(_logger, _endpoint, ex);
                await DelayQuietlyAsync(_options.ReconnectDelay, stopping).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask ReadStreamAsync(CancellationToken cancellationToken)
    {
        using AsyncServerStreamingCall<X509SVIDResponse> call = _connection.FetchX509Svid(cancellationToken);
        bool delivered = false;
        try
        {
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                if (!delivered)
                {
                    delivered = true;
                    _outageAnnounced = false;
                    _denialAnnounced = false;
                    _streamOpenedAt = _timeProvider.GetTimestamp();
                    Volatile.Write(ref _status, new WorkloadApiStatus(Connected: true, DisconnectedSince: null, Problem: null, PermissionDenied: false));
                    WorkloadApiLog.Connected(_logger, _endpoint);
                }

                Apply(call.ResponseStream.Current);
            }
        }
        catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
        {
            // Our own shutdown ends the call with Cancelled: not a broken stream, nothing to reconnect or report.
            throw new OperationCanceledException("the Workload API source is stopping", ex, cancellationToken);
        }
        catch (RpcException ex) when (delivered)
        {
            // A stream that worked: reopened at once, and the back-off starts over.
            throw new StreamBrokenException($"{ex.StatusCode}: {ex.Status.Detail}", ex.StatusCode, ex);
        }

        if (delivered)
        {
            throw new StreamBrokenException("the agent ended the stream", StatusCode.OK);
        }

        throw new RpcException(new Status(StatusCode.Unavailable, "the agent ended the stream before sending an X.509-SVID"));
    }

    private void Apply(X509SVIDResponse response)
    {
        if (!X509SvidResponseReader.TryRead(response, _options.Hint, _timeProvider, out X509SvidUpdate? update, out string? reason))
        {
            _lastProblem = reason;
            WorkloadApiLog.UpdateRefused(_logger, _endpoint, reason);
            _metrics?.CertificateRotation(succeeded: false);
            _metrics?.WorkloadApiUpdate(SecureCommsTelemetry.Results.Rejected);
            return;
        }

        X509SvidUpdate? previous = Volatile.Read(ref _current);
        if (previous is null)
        {
            Volatile.Write(ref _current, update);
            _metrics?.WorkloadApiUpdate(SecureCommsTelemetry.Results.Success);
            WorkloadApiLog.FirstSvid(_logger, _endpoint, update);
            _firstUpdate.TrySetResult();
            return;
        }

        bool rotated = !string.Equals(previous.Certificate.Sha256Thumbprint, update.Certificate.Sha256Thumbprint, StringComparison.Ordinal);
        bool bundlesChanged = !SameAuthorities(previous.Bundles, update.Bundles);
        if (!rotated)
        {
            Release(update.Certificate); // the same SVID pushed again (a bundle change): connections keep the instance they hold
            update = update with { Certificate = previous.Certificate };
        }

        if (!bundlesChanged)
        {
            update = update with { Bundles = previous.Bundles };
        }

        // The previous certificate is not disposed: connections in flight may still be using it.
        Volatile.Write(ref _current, update);
        _metrics?.WorkloadApiUpdate(SecureCommsTelemetry.Results.Success);

        // Bundles first: a new SVID may chain to an authority that arrived in the same response.
        if (bundlesChanged)
        {
            TrustBundleLog.BundlesLoaded(_logger, update.Bundles);
            _bundlesChanged.Signal();
        }

        if (rotated)
        {
            CertificateSourceLog.CertificateLoaded(_logger, update.Certificate, "the SPIFFE Workload API at " + _endpoint);
            _certificateChanged.Signal();
        }
    }

    private void OnReconnectScheduled(Exception exception, int attempt, TimeSpan delay)
    {
        bool denied = exception is RpcException { StatusCode: StatusCode.PermissionDenied };
        string reason = exception is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : exception.Message;
        _lastProblem = denied ? $"no identity registered for this workload at {_endpoint} (PermissionDenied)" : reason;
        if (Volatile.Read(ref _current) is null)
        {
            if (denied)
            {
                _firstUpdate.TrySetException(new InvalidOperationException(
                    $"{SecureCommsOptions.SectionName}:WorkloadApi: no identity registered for this workload at {_endpoint}: the agent answered PermissionDenied. "
                    + "Register this workload with the SPIRE server (an entry whose selectors match this process), or use SecureComms:Certificate:Source=Files."));
            }
            else if (attempt == 0)
            {
                WorkloadApiLog.Waiting(_logger, _endpoint, reason, _options.StartupTimeout);
            }

            return;
        }

        OnDisconnected(_lastProblem, (exception as RpcException)?.StatusCode ?? StatusCode.Unavailable);
        if (denied)
        {
            if (!_denialAnnounced)
            {
                _denialAnnounced = true;
                WorkloadApiLog.PermissionDenied(_logger, _endpoint, DescribeCurrent(), _current?.Certificate.NotAfter, delay);
            }
        }
        else if (!_outageAnnounced)
        {
            _outageAnnounced = true;

            // One warning per outage; the attempts that follow are visible in the disconnection metric and the health check.
            WorkloadApiLog.StreamBroken(_logger, _endpoint, reason, DescribeCurrent(), _current?.Certificate.NotAfter, delay);
        }
    }

    private void OnDisconnected(string problem, StatusCode statusCode)
    {
        WorkloadApiStatus previous = Volatile.Read(ref _status);
        Volatile.Write(ref _status, new WorkloadApiStatus(
            Connected: false,
            DisconnectedSince: previous.DisconnectedSince ?? _timeProvider.GetUtcNow(),
            Problem: problem,
            PermissionDenied: statusCode == StatusCode.PermissionDenied));
        _metrics?.WorkloadApiDisconnection(statusCode == StatusCode.OK ? "stream_ended" : statusCode.ToString());
    }

    private void OnStartupTimeout()
    {
        if (Volatile.Read(ref _current) is not null)
        {
            return;
        }

        string last = _lastProblem is { } problem ? $" Last problem: {problem.TrimEnd('.')}." : string.Empty;
        _firstUpdate.TrySetException(new InvalidOperationException(
            $"{SecureCommsOptions.SectionName}:WorkloadApi: no X.509-SVID from the SPIFFE Workload API at {_endpoint} within "
            + $"{_options.StartupTimeout} ({SecureCommsOptions.SectionName}:WorkloadApi:StartupTimeout).{last} "
            + "Is the SPIRE agent running, and is its socket mounted into this container?"));
    }

    private string DescribeCurrent() => Volatile.Read(ref _current)?.Certificate.SpiffeId.ToString() ?? "no SVID yet";

    private async Task DelayQuietlyAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Whether two snapshots hold the same authorities for the same trust domains (each response carries fresh instances).</summary>
    private static bool SameAuthorities(TrustBundleSet a, TrustBundleSet b)
    {
        if (a.Bundles.Count != b.Bundles.Count)
        {
            return false;
        }

        foreach (TrustBundle bundle in a.Bundles)
        {
            if (!b.TryGetBundle(bundle.TrustDomain, out TrustBundle? other) || other.Authorities.Count != bundle.Authorities.Count)
            {
                return false;
            }

            for (int i = 0; i < bundle.Authorities.Count; i++)
            {
                if (!bundle.Authorities[i].RawDataMemory.Span.SequenceEqual(other.Authorities[i].RawDataMemory.Span))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static void Release(WorkloadCertificate unused)
    {
        unused.Certificate.Dispose();
        foreach (System.Security.Cryptography.X509Certificates.X509Certificate2 intermediate in unused.Intermediates)
        {
            intermediate.Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _startupDeadline.Dispose();
        _certificateChanged.Dispose();
        _bundlesChanged.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        Dispose();
    }

    /// <summary>A stream that had delivered responses broke: reopened at once, outside the back-off of the outage before it.</summary>
    private sealed class StreamBrokenException(string message, StatusCode statusCode, Exception? inner = null) : Exception(message, inner)
    {
        public StatusCode StatusCode { get; } = statusCode;
    }
}

/// <summary>The Workload API connection as the health check sees it.</summary>
/// <param name="Connected">Whether the X.509 stream is open and has delivered a response.</param>
/// <param name="DisconnectedSince">When the current outage began; <see langword="null"/> while connected.</param>
/// <param name="Problem">Why it is disconnected, safe to show.</param>
/// <param name="PermissionDenied">Whether the agent denied this workload (no identity registered).</param>
internal sealed record WorkloadApiStatus(bool Connected, DateTimeOffset? DisconnectedSince, string? Problem, bool PermissionDenied);
