using System.CommandLine;
using Microsoft.Extensions.Logging;

namespace SecureComms.DevCert;

/// <summary>
/// <c>workload-api serve</c>: a development SPIFFE Workload API on a Unix socket, handing out short-lived SVIDs from a
/// saved development CA and pushing each rotation, so that a service runs with no certificate file at all.
/// </summary>
internal static class WorkloadApiServeCommand
{
    private const string Command = "workload-api serve";

    private const string Description = """
        Serves the SPIFFE Workload API (gRPC on a Unix socket) for one SPIFFE ID, as a SPIRE agent would: X.509-SVIDs
        from the development CA, rotated and pushed at half their lifetime, and JWT-SVIDs. Point a service at it with
          SPIFFE_ENDPOINT_SOCKET=unix:///path/to/socket   (or SecureComms:WorkloadApi:Socket)
        Development only: it attests nothing and gives every caller the same identity. Stops on Ctrl+C.
        """;

    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(2);

    /// <summary>The <c>serve</c> command under <c>workload-api</c>.</summary>
    public static Command Create(CommandContext context)
    {
        Option<string> ca = CommandLineOptions.Value("--ca", "folder", "the folder of 'ca create' (or its ca.pem, with ca.key beside it)", required: true);
        Option<string> socket = CommandLineOptions.Value("--socket", "path", "the Unix socket to listen on (default: a new one in the temporary folder)");
        Option<string> spiffeId = CommandLineOptions.Value("--spiffe-id", "id", "the SPIFFE ID to serve, e.g. spiffe://example.org/orders", required: true);
        Option<string> ttl = CommandLineOptions.Value("--ttl", "duration", "how long each X.509-SVID is valid: 90s, 2m, 1h (default 2m)");
        Option<string> rotateEvery = CommandLineOptions.Value("--rotate-every", "duration", "issue and push a new SVID this often (default: half the --ttl, as SPIRE does)");
        Option<string> hint = CommandLineOptions.Value("--hint", "name", "the hint sent with each SVID (default: none)");
        var command = new Command("serve", Description) { ca, socket, spiffeId, ttl, rotateEvery, hint };
        command.SetAction((parsed, cancellationToken) => RunAsync(
            context,
            parsed.GetRequiredValue(ca),
            parsed.GetValue(socket),
            parsed.GetRequiredValue(spiffeId),
            parsed.GetValue(ttl),
            parsed.GetValue(rotateEvery),
            parsed.GetValue(hint),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(
        CommandContext context,
        string ca,
        string? socketText,
        string idText,
        string? ttlText,
        string? rotateEveryText,
        string? hint,
        CancellationToken cancellationToken)
    {
        if (!SpiffeId.TryParse(idText, out SpiffeId id, out string? idError))
        {
            return context.UsageError($"--spiffe-id '{idText}': {idError}", Command);
        }

        if (id.IsTrustDomainId)
        {
            return context.UsageError($"--spiffe-id '{id}' names a trust domain; serve a workload path such as {id}/orders.", Command);
        }

        TimeSpan lifetime = DefaultLifetime;
        if (ttlText is not null && !Durations.TryParse(ttlText, out lifetime))
        {
            return context.UsageError($"--ttl '{ttlText}' is not a positive duration such as 2m or 1h.", Command);
        }

        // SPIRE's agent renews an X.509-SVID once half of its lifetime has passed.
        TimeSpan rotateEvery = lifetime / 2;
        if (rotateEveryText is not null && !Durations.TryParse(rotateEveryText, out rotateEvery))
        {
            return context.UsageError($"--rotate-every '{rotateEveryText}' is not a positive duration such as 30s or 1m.", Command);
        }

        if (rotateEvery >= lifetime)
        {
            return context.UsageError($"--rotate-every {Durations.Format(rotateEvery)} is not shorter than --ttl {Durations.Format(lifetime)}: clients would hold expired SVIDs.", Command);
        }

        string? socketPath = null;
        if (socketText is not null)
        {
            socketPath = Path.GetFullPath(socketText);
            if (System.Text.Encoding.UTF8.GetByteCount(socketPath) >= 108)
            {
                return context.UsageError($"--socket '{socketPath}' is too long for a Unix socket (at most 107 bytes).", Command);
            }

            if (Path.GetDirectoryName(socketPath) is { } folder && !Directory.Exists(folder))
            {
                return context.UsageError($"--socket '{socketPath}': the folder '{folder}' does not exist.", Command);
            }
        }

        if (!SavedAuthority.TryLoad(context, ca, out DevelopmentCertificateAuthority? authority))
        {
            return ExitCodes.Failed;
        }

        using (authority)
        {
            if (!id.IsMemberOf(authority.TrustDomain))
            {
                return context.UsageError($"--spiffe-id '{id}' is not in the CA's trust domain '{authority.TrustDomain}'.", Command);
            }

            DateTimeOffset now = context.TimeProvider.GetUtcNow();
            var caNotAfter = new DateTimeOffset(authority.Certificate.NotAfter.ToUniversalTime());
            if (now + lifetime > caNotAfter)
            {
                return context.Fail($"the CA expires at {Durations.FormatInstant(caNotAfter)}, before an SVID of {Durations.Format(lifetime)} would; create a new one with 'securecomms-dev ca create --force'.");
            }

            using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(new TextWriterLoggerProvider(context.Error)).SetMinimumLevel(LogLevel.Information));
            DevelopmentWorkloadApiServer server;
            try
            {
                server = await DevelopmentWorkloadApiServer.StartAsync(
                    new DevelopmentWorkloadApiServerOptions
                    {
                        Authority = authority,
                        SpiffeId = id,
                        SocketPath = socketPath,
                        SvidLifetime = lifetime,
                        RotateEvery = rotateEvery,
                        Hint = hint,
                        TimeProvider = context.TimeProvider,
                        LoggerFactory = loggerFactory,
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                return context.Fail($"cannot listen on '{socketPath}': {ex.Message}");
            }
            catch (OperationCanceledException)
            {
                return ExitCodes.Ok;
            }

            await using (server.ConfigureAwait(false))
            {
                context.Output.WriteLine($"Development SPIFFE Workload API serving {id} (no attestation: every caller gets this identity).");
                context.Output.WriteLine($"  socket: {server.Socket}");
                context.Output.WriteLine($"  X.509-SVIDs valid {Durations.Format(lifetime)}, rotated and pushed every {Durations.Format(rotateEvery)}; CA {OutputFiles.ResolveCa(ca).CertificatePath}");
                context.Output.WriteLine($"SPIFFE_ENDPOINT_SOCKET={server.Socket}");
                context.Output.WriteLine("Serving until Ctrl+C.");
                context.Output.Flush();
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, context.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C, SIGTERM or the caller's token: stop and remove the socket.
                }
            }

            context.Output.WriteLine("Stopped; the socket is removed.");
            return ExitCodes.Ok;
        }
    }
}
