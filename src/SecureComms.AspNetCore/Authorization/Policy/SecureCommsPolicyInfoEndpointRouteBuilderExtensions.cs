using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace SecureComms;

/// <summary>Maps the optional endpoint that tells operators which central policy a replica runs.</summary>
public static class SecureCommsPolicyInfoEndpointRouteBuilderExtensions
{
    /// <summary>The path <see cref="MapSecureCommsPolicyInfo"/> uses unless given another.</summary>
    public const string DefaultPattern = "/securecomms/policy";

    /// <summary>
    /// Maps <c>GET <paramref name="pattern"/></c> answering the loaded central policy's identity as JSON:
    /// <c>{"version": …, "sha256": …, "loadedAt": …, "rules": …, "dryRun": …}</c> — the operator's
    /// <c>SecureComms:Authorization:Version</c>, the SHA-256 of what decides requests, when it was loaded (start-up or
    /// the last applied change) — so operators can confirm that every replica runs the same policy. Never the rules
    /// themselves. Not mapped unless called; once mapped it is under the same default-deny policy as any endpoint: a
    /// rule must allow the callers that may read it (for example the monitoring workload's SPIFFE ID, method GET).
    /// </summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <param name="pattern">The route; default <see cref="DefaultPattern"/>.</param>
    /// <returns>The endpoint's convention builder, for further conventions (e.g. <c>RequireCaller</c>).</returns>
    public static IEndpointConventionBuilder MapSecureCommsPolicyInfo(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern = DefaultPattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        if (endpoints.ServiceProvider.GetService<CentralPolicyProvider>() is null)
        {
            throw new InvalidOperationException("MapSecureCommsPolicyInfo needs the SecureComms server: call builder.Services.AddSecureComms(...) first.");
        }

        return endpoints.MapGet(pattern, WriteAsync).WithDisplayName("SecureComms policy information");
    }

    private static Task WriteAsync(HttpContext context)
    {
        CentralPolicy policy = context.RequestServices.GetRequiredService<CentralPolicyProvider>().Current;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        using var json = new Utf8JsonWriter(context.Response.BodyWriter);
        json.WriteStartObject();
        json.WriteString("version", policy.Version);
        json.WriteString("sha256", policy.Sha256);
        json.WriteString("loadedAt", policy.LoadedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        json.WriteNumber("rules", policy.RuleCount);
        json.WriteBoolean("dryRun", policy.DryRun);
        json.WriteEndObject();
        json.Flush();
        return context.Response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }
}
