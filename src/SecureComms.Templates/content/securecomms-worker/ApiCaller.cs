using System.Diagnostics;
#if (Grpc)
using Grpc.Core;
using Grpc.Net.ClientFactory;
#endif
using Microsoft.Extensions.Options;
using SecureComms;

namespace SecureComms.Worker1;

#if (Grpc)
/// <summary>
/// Calls billing's gRPC method Greeter/SayHello every <see cref="ApiCallerOptions.Interval"/> through the gRPC client
/// on the SecureComms named client and logs the answer. The client does the security: mutual TLS with this workload's
/// SVID, billing's SPIFFE ID checked instead of its host name, and an access token bound to the SVID, obtained and
/// renewed by client credentials over mutual TLS.
/// </summary>
internal sealed partial class ApiCaller(
    GrpcClientFactory grpcClientFactory,
    IOptions<ApiCallerOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ApiCaller> logger) : BackgroundService
#else
/// <summary>
/// Calls billing every <see cref="ApiCallerOptions.Interval"/> through the SecureComms named client and logs the answer.
/// The client does the security: mutual TLS with this workload's SVID, billing's SPIFFE ID checked instead of its host
/// name, and an access token bound to the SVID, obtained and renewed by client credentials over mutual TLS.
/// </summary>
internal sealed partial class ApiCaller(
    IHttpClientFactory httpClientFactory,
    IOptions<ApiCallerOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ApiCaller> logger) : BackgroundService
#endif
{
    public const string ActivitySourceName = "SecureComms.Worker1";
    private static readonly ActivitySource Source = new(ActivitySourceName);
#if (Grpc)

    // The gRPC path of the method: what billing's policy rules name.
    private const string Method = "/greet.v1.Greeter/SayHello";
#endif

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ApiCallerOptions settings = options.Value;
        using var timer = new PeriodicTimer(settings.Interval);
        int failures = 0;
        do
        {
            if (await CallOnceAsync(settings, stoppingToken).ConfigureAwait(false))
            {
                if (settings.RunOnce)
                {
                    Environment.ExitCode = 0;
                    lifetime.StopApplication();
                    return;
                }
            }
            else if (settings.RunOnce && ++failures >= settings.MaxAttempts)
            {
                LogGaveUp(logger, settings.Client, failures);
                Environment.ExitCode = 1;
                lifetime.StopApplication();
                return;
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
#if (Grpc)

    private async Task<bool> CallOnceAsync(ApiCallerOptions settings, CancellationToken cancellationToken)
    {
        using Activity? activity = Source.StartActivity("call " + settings.Client);
        try
        {
            // The factory keeps one channel per client name: creating the client for each call costs nothing.
            Greeter.GreeterClient greeter = grpcClientFactory.CreateClient<Greeter.GreeterClient>(settings.Client);
            using AsyncUnaryCall<HelloReply> call = greeter.SayHelloAsync(
                new HelloRequest(), deadline: DateTime.UtcNow.Add(settings.Deadline), cancellationToken: cancellationToken);
            HelloReply reply = await call.ResponseAsync.ConfigureAwait(false);
            LogAnswered(logger, settings.Client, Method, StatusCode.OK, reply.Message);
            return true;
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Unauthenticated: no token, or one billing refused (invalid_token). PermissionDenied: billing's policy does
            // not open the method to this workload. Unavailable: no connection, e.g. a refused TLS handshake (a server
            // whose SVID is not the expected SPIFFE ID). Internal: no certificate-bound token could be obtained, so the
            // call was never sent (the detail names the TokenAcquisitionException).
            LogAnswered(logger, settings.Client, Method, ex.StatusCode, ex.Status.Detail);
        }

        activity?.SetStatus(ActivityStatusCode.Error);
        return false;
    }

    [LoggerMessage(1, LogLevel.Information, "{Client} answered {Method} with {StatusCode}: {Message}")]
    private static partial void LogAnswered(ILogger logger, string client, string method, StatusCode statusCode, string message);
#else

    private async Task<bool> CallOnceAsync(ApiCallerOptions settings, CancellationToken cancellationToken)
    {
        string client = settings.Client;
        var path = new Uri(settings.Path, UriKind.Relative);
        using Activity? activity = Source.StartActivity("call " + client);
        try
        {
            HttpClient http = httpClientFactory.CreateClient(client);
            using HttpResponseMessage response = await http.GetAsync(path, cancellationToken).ConfigureAwait(false);
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            LogAnswered(logger, client, path, (int)response.StatusCode, body.Length > 200 ? body[..200] : body);
            return response.IsSuccessStatusCode;
        }
        catch (TokenAcquisitionException ex)
        {
            // Fail closed: without a bound token the request was never sent.
            LogNoToken(logger, client, ex.Error, ex.ErrorDescription);
        }
        catch (HttpRequestException ex)
        {
            // Includes a refused TLS handshake, e.g. a server whose SVID is not the expected SPIFFE ID.
            LogUnreachable(logger, client, ex.Message);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnreachable(logger, client, "the call timed out");
        }

        activity?.SetStatus(ActivityStatusCode.Error);
        return false;
    }

    [LoggerMessage(1, LogLevel.Information, "{Client} answered GET {Path} with {StatusCode}: {Body}")]
    private static partial void LogAnswered(ILogger logger, string client, Uri path, int statusCode, string body);

    [LoggerMessage(2, LogLevel.Warning, "No certificate-bound token for {Client}, the call was not sent: {Error} {ErrorDescription}")]
    private static partial void LogNoToken(ILogger logger, string client, string? error, string? errorDescription);

    [LoggerMessage(3, LogLevel.Warning, "{Client} could not be called: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string client, string reason);
#endif

    [LoggerMessage(4, LogLevel.Error, "{Client} did not answer successfully in {Attempts} attempts; giving up")]
    private static partial void LogGaveUp(ILogger logger, string client, int attempts);
}
