using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary><c>policy</c>: the commands about a service's central policy, one file each.</summary>
internal static class PolicyCommand
{
    /// <summary>The <c>policy</c> command group.</summary>
    public static Command Create(CommandContext context) =>
        new("policy", "A service's central authorization policy, compiled by the service's own code: 'policy explain' says why a request is allowed or denied, 'policy test' runs a table of expected decisions.")
        {
            PolicyExplainCommand.Create(context),
            PolicyTestCommand.Create(context),
        };
}
