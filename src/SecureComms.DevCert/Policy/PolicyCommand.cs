using System.CommandLine;

namespace SecureComms.DevCert;

/// <summary><c>policy</c>: the commands about a service's central policy, one file each.</summary>
internal static class PolicyCommand
{
    /// <summary>The <c>policy</c> command group.</summary>
    public static Command Create(CommandContext context) =>
        new("policy", "A service's central authorization policy, compiled by the service's own code: 'policy explain' says why a request is allowed or denied, 'policy test' runs a table of expected decisions, 'policy diff' what a change opens or closes, 'policy graph' who may call whom across services, 'policy suggest' the least rules behind logged calls.")
        {
            PolicyExplainCommand.Create(context),
            PolicyTestCommand.Create(context),
            PolicyDiffCommand.Create(context),
            PolicyGraphCommand.Create(context),
            PolicySuggestCommand.Create(context),
        };
}
