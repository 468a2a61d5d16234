using Microsoft.AspNetCore.Authentication.JwtBearer;
using SecureComms;

// The gateway: the edge between the outside (browsers, apps: a server certificate, a user's bearer token) and the
// services inside (mutual TLS, SPIFFE IDs). YARP routes; SecureComms carries every forwarded request.
WebApplicationBuilder builder = WebApplication.CreateBuilder(args);

// The gateway's SVID, its mutual-TLS listener (health), and the SecureComms clients: "orders" (one per YARP cluster,
// same name) and "identity" (the identity provider's metadata and keys). The external listener is Kestrel:Endpoints:Edge.
builder.Services.AddSecureComms(builder.Configuration);

// The end user: an ordinary OIDC/JWT bearer token from the identity provider, checked by JwtBearer at the edge. Its
// metadata and signing keys come over the SecureComms client "identity" (the development provider speaks mutual TLS;
// for an identity provider with a public certificate, leave BackchannelHttpHandler alone).
builder.Services.AddAuthentication().AddJwtBearer(options =>
{
    builder.Configuration.GetSection("EndUsers").Bind(options); // Authority, Audience
    options.MapInboundClaims = false;                            // keep "sub" and "role" as the token names them
    options.TokenValidationParameters.NameClaimType = "sub";
    options.TokenValidationParameters.RoleClaimType = "role";
});
builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
    .Configure<IHttpMessageHandlerFactory>((options, handlers) => options.BackchannelHttpHandler = handlers.CreateHandler("identity"));

// The routes' policy: a signed-in end user. No token, or a bad one: 401 here, nothing forwarded.
builder.Services.AddAuthorizationBuilder()
    .AddPolicy("end-user", policy => policy.AddAuthenticationSchemes(JwtBearerDefaults.AuthenticationScheme).RequireAuthenticatedUser());

// YARP from the ReverseProxy section; every cluster forwards through the SecureComms client of its name.
builder.Services.AddReverseProxy()
    .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
    .ForwardThroughSecureCommsClients();

WebApplication app = builder.Build();
app.MapReverseProxy();
app.MapHealthChecks("/healthz").AllowAnonymous();
app.Run();
