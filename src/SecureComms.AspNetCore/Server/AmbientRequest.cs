using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace SecureComms;

/// <summary>
/// The request being served, for outbound clients that mint or forward its user context or exchange its token: the
/// ASP.NET Core side of <see cref="IServedRequestAccessor"/>. Set by <see cref="AmbientRequestStartupFilter"/> only when
/// such a client is configured, so a service without one pays nothing, and unlike <c>IHttpContextAccessor</c> it leaves
/// ASP.NET Core's pooling of <see cref="HttpContext"/> objects on. The reference is cleared when the request ends: a call
/// still running after that sees no request, so it sends no user context (and a token exchange fails closed) rather than
/// reading a recycled context.
/// </summary>
internal sealed class AmbientRequest : IServedRequestAccessor
{
    private static readonly AsyncLocal<Holder?> Current = new();

    /// <summary>The request being served on this async flow, or null.</summary>
    public static HttpContext? Context => Current.Value?.Context;

    /// <inheritdoc />
    public ClaimsPrincipal? User => Context?.User;

    /// <inheritdoc />
    public string? BearerToken
    {
        get
        {
            string? header = Context?.Request.Headers.Authorization.ToString();
            const string Prefix = "Bearer ";
            return header is not null && header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) && header.Length > Prefix.Length
                ? header[Prefix.Length..].Trim()
                : null;
        }
    }

    /// <summary>Makes <paramref name="context"/> the ambient request until the returned scope is disposed.</summary>
    public static Scope Enter(HttpContext context)
    {
        var holder = new Holder { Context = context };
        Current.Value = holder;
        return new Scope(holder);
    }

    /// <summary>Whether a client needs the request being served: it mints or forwards a user context, or exchanges tokens.</summary>
    public static bool IsNeededBy(SecureCommsOptions options)
    {
        foreach (SecureClientOptions client in options.Clients.Values)
        {
            if (client.UserContext is { Mode: not UserContextMode.None } || client.Token is { GrantType: TokenGrantType.TokenExchange })
            {
                return true;
            }
        }

        return false;
    }

    internal sealed class Holder
    {
        public HttpContext? Context { get; set; }
    }

    /// <summary>Ends the request's ambient scope: clears the reference for any flow that captured it.</summary>
    internal readonly struct Scope(Holder holder) : IDisposable
    {
        public void Dispose()
        {
            holder.Context = null;
            Current.Value = null;
        }
    }
}
