variable "erlang_cookie" {
  type        = string
  description = "Cookie shared by the RabbitMQ nodes"
  default     = "tf_default_cookie"
  sensitive   = true
}

resource "kubernetes_secret" "erlang" {
  metadata {
    name      = "erlang-cookie"
    namespace = "rabbit"
  }
  data = {
    cookie = "Tf7Gh2Kp9Lm4Qr8Xv3Bn"
  }
}

resource "kubernetes_deployment" "app" {
  spec {
    template {
      spec {
        container {
          name  = "app"
          image = "shop:1.0"
          env {
            name  = "RELEASE_COOKIE"
            value = "tf_env_cookie_88"
          }
          env {
            name  = "ERLANG_COOKIE"
            value = var.erlang_cookie
          }
        }
      }
    }
  }
}
