using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>
/// The compiled central policy, kept by <see cref="LastGoodOptions{TCompiled}"/>: an invalid policy at start-up stops
/// start-up (every problem listed with its key); an invalid change later is refused with warning event 1410 naming the
/// keys and a <c>securecomms.configuration.reloads</c> count tagged <c>rejected</c>, and the last good policy stays in
/// force. Requests read <see cref="Current"/>, which never throws.
/// </summary>
internal sealed class CentralPolicyProvider
{
    internal const string Section = SecureCommsOptions.SectionName + ":Authorization";

    private readonly LastGoodOptions<CentralPolicy> _policy;

    public CentralPolicyProvider(LastGoodOptions<CentralPolicy> policy) => _policy = policy;

    public CentralPolicy Current => _policy.Current;

    /// <summary>Builds the last good holder of the policy bound from <c>SecureComms:Authorization</c>.</summary>
    internal static LastGoodOptions<CentralPolicy> Watch(IServiceProvider services)
    {
        TimeProvider time = services.GetRequiredService<TimeProvider>();
        return LastGoodOptions<CentralPolicy>.Create<SecureCommsAuthorizationOptions>(
            services,
            Section,
            (options, errors) => CentralPolicy.Compile(options, errors, time.GetUtcNow()),
            PolicyLog.ReloadRejected,
            static (logger, policy) => PolicyLog.Reloaded(logger, policy.RuleCount, policy.DryRun, policy.Version ?? "(none)", policy.Sha256));
    }
}

/// <summary>Central policy log events (event ids 1410–1419).</summary>
internal static partial class PolicyLog
{
    [LoggerMessage(EventId = 1410, Level = LogLevel.Warning, Message = "SecureComms rejected a changed authorization policy and keeps the last good one: {Problems}")]
    internal static partial void ReloadRejected(ILogger logger, string problems);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "SecureComms loaded an authorization policy of {RuleCount} rules (dry run: {DryRun}, version {Version}, sha256 {Sha256})")]
    internal static partial void Reloaded(ILogger logger, int ruleCount, bool dryRun, string version, string sha256);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Information, Message = "SecureComms audit: {Caller} {Method} {Path} matched audit rule {Rule} (decision {Reason})")]
    internal static partial void Audited(ILogger logger, string caller, string method, string path, string rule, string reason);

    [LoggerMessage(EventId = 1413, Level = LogLevel.Warning, Message = "SecureComms dry run: {Caller} {Method} {Path} would be {Verdict} ({Reason}, rule {Rule}); allowed because the policy is in dry-run mode")]
    internal static partial void DryRunDecision(ILogger logger, string caller, string method, string path, string verdict, string reason, string rule);
}
