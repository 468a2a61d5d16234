using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SecureComms;

/// <summary>
/// Holds the compiled central policy and reloads it when configuration changes. An invalid policy at start-up stops
/// start-up (the options validator); an invalid policy on a later reload is rejected with an error log and the last
/// good policy stays in force.
/// </summary>
internal sealed class CentralPolicyProvider : IDisposable
{
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private CentralPolicy _current;

    public CentralPolicyProvider(IOptionsMonitor<SecureCommsAuthorizationOptions> options, ILogger<CentralPolicyProvider> logger)
    {
        _logger = logger;
        var errors = new List<string>();
        _current = CentralPolicy.Compile(options.CurrentValue, errors);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(nameof(SecureCommsAuthorizationOptions), typeof(SecureCommsAuthorizationOptions), errors);
        }

        _subscription = options.OnChange(Reload);
    }

    public CentralPolicy Current => Volatile.Read(ref _current);

    private void Reload(SecureCommsAuthorizationOptions options)
    {
        var errors = new List<string>();
        CentralPolicy next = CentralPolicy.Compile(options, errors);
        if (errors.Count > 0)
        {
            PolicyLog.ReloadRejected(_logger, string.Join(" ", errors));
            return;
        }

        Volatile.Write(ref _current, next);
        PolicyLog.Reloaded(_logger, next.RuleCount, next.DryRun);
    }

    public void Dispose() => _subscription?.Dispose();
}

/// <summary>Central policy log events (event ids 1410–1419).</summary>
internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 1410, Level = LogLevel.Error, Message = "SecureComms rejected a changed authorization policy and keeps the last good one: {Problems}")]
    internal static partial void ReloadRejected(ILogger logger, string problems);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "SecureComms loaded an authorization policy of {RuleCount} rules (dry run: {DryRun})")]
    internal static partial void Reloaded(ILogger logger, int ruleCount, bool dryRun);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Information, Message = "SecureComms audit: {Caller} {Method} {Path} matched audit rule {Rule} (decision {Reason})")]
    internal static partial void Audited(ILogger logger, string caller, string method, string path, string rule, string reason);

    [LoggerMessage(EventId = 1413, Level = LogLevel.Warning, Message = "SecureComms dry run: {Caller} {Method} {Path} would be {Verdict} ({Reason}, rule {Rule}); allowed because the policy is in dry-run mode")]
    internal static partial void DryRunDecision(ILogger logger, string caller, string method, string path, string verdict, string reason, string rule);
}
